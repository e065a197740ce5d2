import { describe, expect, it } from "vitest";
import { parseNamespaceList } from "../../src/core/namespace-list.js";

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
