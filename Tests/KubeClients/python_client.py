"""The official Kubernetes Python client against a real berth agent.

Run by Tests/EndToEndTests/KubeClientEndToEndTests.swift as
    python python_client.py http://127.0.0.1:PORT KUBECONFIG
Prints one line per step; any failure raises, and the exit status is not 0.
"""
import sys
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

server, kubeconfig = sys.argv[1], sys.argv[2]
cfg = client.Configuration()
cfg.host = server
api = client.ApiClient(cfg)
core = client.CoreV1Api(api)
storage = client.StorageV1Api(api)
apps = client.AppsV1Api(api)
NS = "default"


def step(text):
    print(text, flush=True)


def expect_error(status, reason, call, *args, **kwargs):
    try:
        call(*args, **kwargs)
    except ApiException as e:
        assert e.status == status, f"expected {status}, got {e.status}: {e.body}"
        assert reason in e.body, f"expected {reason} in {e.body}"
        return e
    raise AssertionError(f"expected ApiException {status} {reason}")


def watch_until(list_call, predicate, *args, timeout=20, **kwargs):
    """Streams events until predicate(event) holds; returns the events seen."""
    w = watch.Watch()
    seen = []
    deadline = time.time() + timeout
    for ev in w.stream(list_call, *args, timeout_seconds=timeout, **kwargs):
        seen.append((ev["type"], ev["object"].metadata.name))
        if predicate(ev):
            w.stop()
            return seen
        if time.time() > deadline:
            break
    raise AssertionError(f"the watch ended without the expected event; saw {seen}")


# --- version and discovery, with the client's trailing slashes
version = client.VersionApi(api).get_code()
step(f"version {version.git_version}")
assert client.CoreApi(api).get_api_versions().versions == ["v1"]
resources = [r.name for r in core.get_api_resources().resources]
assert "persistentvolumeclaims" in resources, resources

# --- claims
claims = core.list_namespaced_persistent_volume_claim(NS)
assert claims.items == [], claims.items
step("claims listed: []")
# a model without apiVersion and kind (the client sends them so, and no Content-Type)
body = client.V1PersistentVolumeClaim(
    metadata=client.V1ObjectMeta(name="py1", labels={"app": "py"}),
    spec=client.V1PersistentVolumeClaimSpec(
        access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"})))
created = core.create_namespaced_persistent_volume_claim(NS, body)
assert created.metadata.uid and created.metadata.resource_version
step(f"claim created: {created.metadata.name} {created.status.phase}")
e = expect_error(409, "AlreadyExists", core.create_namespaced_persistent_volume_claim, NS, body)
step(f"claim created again: {e.status} {e.reason}")
core.create_namespaced_persistent_volume_claim(NS, {
    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "py2"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}})
step("claim created from a dict: py2")
seen = watch_until(core.list_namespaced_persistent_volume_claim,
                   lambda ev: ev["object"].status.phase == "Bound", NS, field_selector="metadata.name=py1")
step(f"claim watched until Bound: {seen[-1]}")
claim = core.read_namespaced_persistent_volume_claim("py1", NS)
assert claim.status.phase == "Bound" and claim.spec.volume_name, claim
step(f"claim read: {claim.metadata.name} {claim.status.phase} {claim.spec.volume_name}")
labelled = core.list_namespaced_persistent_volume_claim(NS, label_selector="app=py")
assert [c.metadata.name for c in labelled.items] == ["py1"], labelled.items
step("claims listed by label: py1")
e = expect_error(404, "NotFound", core.read_namespaced_persistent_volume_claim, "nope", NS)
step(f"claim read missing: {e.status} {e.reason}")
patched = core.patch_namespaced_persistent_volume_claim("py1", NS, {"metadata": {"labels": {"patched": "yes"}}})
assert patched.metadata.labels == {"app": "py", "patched": "yes"}, patched.metadata.labels
step(f"claim patched: {patched.metadata.labels}")
e = expect_error(422, "Invalid", core.patch_namespaced_persistent_volume_claim, "py1", NS,
                 {"spec": {"resources": {"requests": {"storage": "-1Gi"}}}})
step(f"claim patched badly: {e.status} {e.reason}")

# --- volumes
volume = core.read_persistent_volume(claim.spec.volume_name)
assert volume.spec.claim_ref.name == "py1" and volume.status.phase == "Bound"
step(f"volume read: {volume.metadata.name} {volume.spec.host_path.path}")
names = [v.metadata.name for v in core.list_persistent_volume().items]
assert volume.metadata.name in names
step(f"volumes listed: {len(names)}")
static = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "py-static"},
          "spec": {"capacity": {"storage": "5Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "manual",
                   "persistentVolumeReclaimPolicy": "Retain", "hostPath": {"path": "/tmp/berth-py-static-never-made"}}}
core.create_persistent_volume(static)
seen = watch_until(core.list_persistent_volume, lambda ev: ev["object"].status.phase == "Available",
                   field_selector="metadata.name=py-static")
step(f"volume watched until Available: {seen[-1]}")
patched = core.patch_persistent_volume("py-static", {"metadata": {"labels": {"tier": "slow"}}})
assert patched.metadata.labels == {"tier": "slow"}
step("volume patched")
# watch from the version read before the delete, so that the DELETED event cannot be missed
rv = core.read_persistent_volume("py-static").metadata.resource_version
core.delete_persistent_volume("py-static")
seen = watch_until(core.list_persistent_volume, lambda ev: ev["type"] == "DELETED" and ev["object"].metadata.name == "py-static",
                   resource_version=rv)
step(f"volume deleted and watched: {seen[-1]}")

# --- classes
sc = client.V1StorageClass(metadata=client.V1ObjectMeta(name="py-class"), provisioner="berth.io/hostpath",
                           reclaim_policy="Retain", volume_binding_mode="WaitForFirstConsumer")
storage.create_storage_class(sc)
read = storage.read_storage_class("py-class")
assert read.reclaim_policy == "Retain" and read.volume_binding_mode == "WaitForFirstConsumer"
step(f"class created and read: {read.metadata.name}")
names = [c.metadata.name for c in storage.list_storage_class().items]
assert {"berth-hostpath", "py-class"} <= set(names), names
patched = storage.patch_storage_class("py-class", {"metadata": {"labels": {"tier": "gold"}}})
assert patched.metadata.labels == {"tier": "gold"}
step("class patched")
seen = watch_until(storage.list_storage_class, lambda ev: ev["object"].metadata.name == "py-class")
step(f"class watched: {seen[-1]}")
storage.delete_storage_class("py-class")
expect_error(404, "NotFound", storage.read_storage_class, "py-class")
step("class deleted")

# --- StatefulSets
sts = {
    "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "pyweb"},
    "spec": {"serviceName": "pyweb", "replicas": 2, "selector": {"matchLabels": {"app": "pyweb"}},
             "template": {"metadata": {"labels": {"app": "pyweb"}},
                          "spec": {"containers": [{"name": "c", "image": "busybox",
                                                   "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
             "volumeClaimTemplates": [{"metadata": {"name": "data"},
                                       "spec": {"accessModes": ["ReadWriteOnce"],
                                                "resources": {"requests": {"storage": "1Gi"}}}}]}}
apps.create_namespaced_stateful_set(NS, sts)
seen = watch_until(apps.list_namespaced_stateful_set, lambda ev: (ev["object"].status.ready_replicas or 0) == 2, NS,
                   field_selector="metadata.name=pyweb")
step(f"statefulset watched until 2 ready: {seen[-1]}")
read = apps.read_namespaced_stateful_set("pyweb", NS)
assert read.spec.replicas == 2 and read.status.ready_replicas == 2
assert [s.metadata.name for s in apps.list_namespaced_stateful_set(NS).items] == ["pyweb"]
patched = apps.patch_namespaced_stateful_set("pyweb", NS, {"spec": {"replicas": 3}})
assert patched.spec.replicas == 3
seen = watch_until(apps.list_namespaced_stateful_set, lambda ev: (ev["object"].status.ready_replicas or 0) == 3, NS,
                   field_selector="metadata.name=pyweb")
step(f"statefulset patched to 3 and watched: {seen[-1]}")
scale = apps.read_namespaced_stateful_set_scale("pyweb", NS)
assert scale.spec.replicas == 3, scale
pods = sorted(p.metadata.name for p in core.list_namespaced_pod(NS, label_selector="app=pyweb").items)
assert pods == ["pyweb-0", "pyweb-1", "pyweb-2"], pods
step(f"pods: {pods}")
rv = apps.read_namespaced_stateful_set("pyweb", NS).metadata.resource_version
apps.delete_namespaced_stateful_set("pyweb", NS)
seen = watch_until(apps.list_namespaced_stateful_set, lambda ev: ev["type"] == "DELETED", NS,
                   field_selector="metadata.name=pyweb", resource_version=rv)
step(f"statefulset deleted and watched: {seen[-1]}")

# --- delete a claim and watch it go
rv = core.read_namespaced_persistent_volume_claim("py2", NS).metadata.resource_version
core.delete_namespaced_persistent_volume_claim("py2", NS)
seen = watch_until(core.list_namespaced_persistent_volume_claim,
                   lambda ev: ev["type"] == "DELETED" and ev["object"].metadata.name == "py2", NS, resource_version=rv)
step(f"claim deleted and watched: {seen[-1]}")

# --- a kubeconfig file
config.load_kube_config(config_file=kubeconfig)
names = sorted(c.metadata.name for c in client.CoreV1Api().list_namespaced_persistent_volume_claim(NS).items)
assert "py1" in names, names
step(f"through the kubeconfig: {names}")
step("python client: all steps passed")
