import BerthModel
import Testing

@Suite struct QuantityTests {
    @Test(arguments: [
        ("1Gi", "1Gi", Int64(1 << 30)),
        ("1024Mi", "1Gi", Int64(1 << 30)),
        ("1.5Gi", "1536Mi", Int64(1_610_612_736)),
        ("0.5Gi", "512Mi", Int64(536_870_912)),
        ("500M", "500M", Int64(500_000_000)),
        ("1000", "1k", Int64(1000)),
        ("1e3", "1e3", Int64(1000)),
        ("1.5", "1500m", Int64(2)),
        ("0", "0", Int64(0)),
        ("512", "512", Int64(512)),
        ("1.1Gi", "1181116006400m", Int64(1_181_116_007)),
        ("1m", "1m", Int64(1)),
        ("+5Gi", "5Gi", Int64(5 << 30)),
        (".5Ki", "512", Int64(512)),
    ])
    func parsesAndCanonicalises(input: String, canonical: String, bytes: Int64) throws {
        let q = try Quantity(parsing: input)
        #expect(q.description == canonical)
        #expect(q.bytes == bytes)
    }

    @Test(arguments: ["1GB", "1gi", "1K", "Gi", "", "abc", "1e", "1..5", "--1", "1 Gi"])
    func rejectsWhatKubernetesRejects(input: String) {
        #expect(throws: BerthError.self) { try Quantity(parsing: input) }
    }

    @Test func negativeParsesButIsNotPositive() throws {
        let q = try Quantity(parsing: "-1Gi")
        #expect(!q.isPositive)
        #expect(q.description == "-1Gi")
    }

    @Test func comparesNumericallyNotAsText() throws {
        #expect(try Quantity(parsing: "1Gi") > Quantity(parsing: "1000Mi"))
        #expect(try Quantity(parsing: "1Gi") == Quantity(parsing: "1024Mi"))
        #expect(try Quantity(parsing: "1G") < Quantity(parsing: "1Gi"))
    }

    @Test func decodesFromJSONStringOrNumber() throws {
        struct Box: Codable { var q: Quantity }
        let a = try JSON.decode(Box.self, from: Data(#"{"q":"2Gi"}"#.utf8))
        let b = try JSON.decode(Box.self, from: Data(#"{"q":1000}"#.utf8))
        #expect(a.q.bytes == 2 << 30)
        #expect(b.q.description == "1k")
        #expect(String(decoding: try JSON.encode(a), as: UTF8.self) == #"{"q":"2Gi"}"#)
    }
}

import Foundation

@Suite struct TimestampTests {
    @Test func formatsAndParsesRFC3339() throws {
        let d = Date(timeIntervalSince1970: 1_795_000_000)
        let text = Timestamp.format(d)
        #expect(text == "2026-11-18T11:06:40Z")
        #expect(Timestamp.parse(text) == d)
        #expect(Timestamp.parse("2026-11-18T13:06:40.5+02:00") == d.addingTimeInterval(0.5))
        #expect(Timestamp.parse("2026-11-18 08:26:40") == nil)
        #expect(Timestamp.parse("yesterday") == nil)
    }
}
