#ifndef BERTH_CSPAWN_H
#define BERTH_CSPAWN_H

#include <sys/types.h>

/* Starts `path` with `argv` and `envp` through posix_spawn: stdin from /dev/null, stdout and
   stderr into the write ends given, `inherit_fd` (when not -1) as descriptor 3, every other
   descriptor closed, signal mask and dispositions reset to the defaults. Returns 0 and the child's
   pid, or an errno value. (glibc's GNU extensions this needs, posix_spawn_file_actions_addclosefrom_np
   among them, are not visible to Swift.) */
int berth_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[], int stdout_fd, int stderr_fd,
                int inherit_fd);

/* pipe2(O_CLOEXEC): 0, or an errno value. */
int berth_pipe_cloexec(int fds[2]);

/* pidfd_open(pid, 0): a descriptor that polls readable once the process has exited, or -1 (a
   kernel before 5.3). */
int berth_pidfd_open(pid_t pid);

#endif
