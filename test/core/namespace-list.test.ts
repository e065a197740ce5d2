import { describe, expect, it } from "vitest";
import { isNamespaceArn, parseNamespaceList } from "../../src/core/namespace-list.js";

describe("parseNamespaceList", () => {
  it.each<[string, string, string[]]>([
    ["a single name", "prod.local", ["prod.local"]],
    ["a comma list (StringList)", "prod.local,staging.local,shared", ["prod.local", "staging.local", "shared"]],
    ["a newline list", "prod.local\nstaging.local\nshared\n", ["prod.local", "staging.local", "shared"]],
    ["commas and newlines mixed", "prod.local,staging.local\nshared,\nedge", ["prod.local", "staging.local", "shared", "edge"]],
    ["CRLF line ends", "prod.local\r\nstaging.local\r\n", ["prod.local", "staging.local"]],
    ["whitespace around names", "  prod.local , \tstaging.local\t,\n  shared  ", ["prod.local", "staging.local", "shared"]],
    ["empty", "", []],
    ["only whitespace", "   \t ", []],
    ["only separators", ",,\n\r\n, ,\n", []],
    ["duplicates, kept once in first-seen order", "b.local,a.local\nb.local, a.local ,c.local", ["b.local", "a.local", "c.local"]],
    ["empty entries between separators", "prod.local,,,staging.local\n\n\nshared", ["prod.local", "staging.local", "shared"]],
  ])("reads %s", (_format, value, expected) => {
    expect(parseNamespaceList(value)).toEqual(expected);
  });

  it("keeps spaces inside a name (Cloud Map rejects them; the lookup then warns about that name)", () => {
    expect(parseNamespaceList("my namespace, other")).toEqual(["my namespace", "other"]);
  });
});

describe("isNamespaceArn", () => {
  it.each(["arn:aws:servicediscovery:eu-west-1:111122223333:namespace/ns-abcdef0123456789", "arn:aws-cn:servicediscovery:cn-north-1:111122223333:namespace/ns-x"])(
    "reads %j as an ARN",
    (entry) => expect(isNamespaceArn(entry)).toBe(true),
  );

  it.each(["prod.local", "arn:aws:servicediscovery:eu-west-1:1111:namespace/ns-x", "arn:aws:servicediscovery:eu-west-1:111122223333:service/srv-x"])(
    "reads %j as a name",
    (entry) => expect(isNamespaceArn(entry)).toBe(false),
  );

  it("keeps ARNs as entries of the list, next to names", () => {
    const arn = "arn:aws:servicediscovery:eu-west-1:111122223333:namespace/ns-abc";
    expect(parseNamespaceList(`prod.local,${arn}`)).toEqual(["prod.local", arn]);
  });
});
