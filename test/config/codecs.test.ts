/**
 * The codecs on their own: what each accepts, and that a refusal's message is the expected form
 * (never the input). test/config/Config.test.ts checks the same messages as a user sees them.
 */
import { Duration, Result, Schema, SchemaIssue } from "effect"
import { describe, expect, it } from "vitest"
import {
  boolean,
  dnsSubdomain,
  goDuration,
  integer,
  labelSelector,
  nameList,
  nonNegativeNumber,
  oneOf,
  optionalDnsLabel,
  optionalInteger,
  optionalText,
  type TextCodec
} from "../../src/config/codecs.ts"

const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/** The decoded value, or the messages of the refusal. */
const decode = <A>(codec: TextCodec<A>, text: string): A | ReadonlyArray<string> => {
  const r = Schema.decodeUnknownResult(codec)(text)
  return Result.isSuccess(r) ? r.success : formatIssue(r.failure.issue).issues.map((i) => i.message)
}

describe("codecs", () => {
  it("goDuration: Go syntax, trimmed, with its lower bound", () => {
    expect(decode(goDuration("positive"), " 1m30s ")).toStrictEqual(Duration.seconds(90))
    expect(decode(goDuration("positive"), "0s")).toStrictEqual(["a duration greater than 0, such as 30s, 1m30s or 500ms"])
    expect(decode(goDuration("nonNegative"), "0")).toStrictEqual(Duration.zero)
    expect(decode(goDuration("nonNegative"), "30")).toStrictEqual(["a duration such as 30s, 1m30s or 500ms"])
    expect(Schema.encodeSync(goDuration("positive"))(Duration.minutes(10))).toBe("10m0s")
  })

  it("integer, optionalInteger, nonNegativeNumber", () => {
    expect([decode(integer(1, 256), "+8"), decode(integer(0), "0")]).toStrictEqual([8, 0])
    expect(decode(integer(1, 256), "1e2")).toStrictEqual(["an integer from 1 to 256"])
    expect(decode(integer(1), "0")).toStrictEqual(["an integer of 1 or more"])
    expect([decode(optionalInteger(0), " "), decode(optionalInteger(0), "10")]).toStrictEqual([undefined, 10])
    expect(decode(optionalInteger(0), "-1")).toStrictEqual(["an integer of 0 or more, or empty for unset"])
    expect([decode(nonNegativeNumber(), "0.5"), decode(nonNegativeNumber(), ".5")]).toStrictEqual([0.5, 0.5])
    expect(decode(nonNegativeNumber(), "1e3")).toStrictEqual(["a number of 0 or more, such as 20 or 0.5"])
  })

  it("boolean, oneOf, optionalText", () => {
    expect(["YES", "0", " true "].map((t) => decode(boolean(), t))).toStrictEqual([true, false, true])
    expect(decode(boolean(), "on")).toStrictEqual(["true or false (also 1/0, yes/no)"])
    expect(decode(oneOf(["table", "json"]), "JSON")).toBe("json")
    expect(decode(oneOf(["table", "json"]), "yaml")).toStrictEqual(["one of table or json"])
    expect([decode(optionalText(), "  "), decode(optionalText(), " me ")]).toStrictEqual([undefined, "me"])
  })

  it("names and lists", () => {
    const namespaces = nameList({ expected: "namespaces", nonEmpty: false, what: "a namespace" })
    expect([decode(namespaces, ""), decode(namespaces, "a, b,a")]).toStrictEqual([[], ["a", "b"]])
    expect(decode(namespaces, "a,B")).toStrictEqual(["namespaces: \"B\" is not a namespace"])
    expect(decode(nameList({ expected: "containers", nonEmpty: true, what: "x" }), " ")).toStrictEqual(["containers: the list is empty"])
    expect(decode(dnsSubdomain("a Lease name"), "a.b")).toBe("a.b")
    expect(decode(dnsSubdomain("a Lease name"), "A")).toStrictEqual(["a Lease name"])
    expect([decode(optionalDnsLabel("a namespace"), ""), decode(optionalDnsLabel("a namespace"), "a.b")]).toStrictEqual([
      undefined,
      ["a namespace, or empty for unset"]
    ])
  })

  it("labelSelector: the domain's grammar, with the expected form before its problem", () => {
    expect(decode(labelSelector(), " app=web ")).toBe("app=web")
    expect(decode(labelSelector(), "app>1")).toStrictEqual([
      "a label selector such as app=web,tier in (a,b),!legacy: operator \">\" is not supported"
    ])
  })

  it("never echoes the input", () => {
    const secret = "Hunter2_Secret"
    for (const codec of [goDuration("positive"), integer(0), boolean(), dnsSubdomain("a name")] as Array<TextCodec<unknown>>) {
      const messages = decode(codec, secret) as ReadonlyArray<string>
      expect(messages.join(" ")).not.toContain(secret)
    }
  })
})
