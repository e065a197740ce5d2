import { describe, expect, it } from "vitest";
import { parseVariant } from "../../bench/ab.js";

const IMAGE = ["--max-semi-space-size=2", "--heap-growing-percent=20", "--no-maglev"];

describe("parseVariant (npm run bench:ab)", () => {
  it("runs the image's flags when a variant names none", () => {
    expect(parseVariant("image||", IMAGE)).toEqual({ name: "image", env: {}, flags: IMAGE, dist: undefined });
    expect(parseVariant("image", IMAGE).flags).toEqual(IMAGE);
  });

  it("replaces an image flag of the same name, adds new ones and drops the ones marked !", () => {
    const variant = parseVariant("v||--max-semi-space-size=4 --single-threaded-gc !--no-maglev", IMAGE);

    expect(variant.flags).toEqual(["--heap-growing-percent=20", "--max-semi-space-size=4", "--single-threaded-gc"]);
  });

  it("reads environment variables (values may hold =) and another build's dist folder", () => {
    expect(parseVariant("v|A=1,B=x=y||/tmp/old/dist", IMAGE)).toMatchObject({ env: { A: "1", B: "x=y" }, dist: "/tmp/old/dist" });
  });

  it.each([
    ["|A=1|", /give it a name/],
    ["v|A|", /environment "A" is not NAME=value/],
    ["v|=1|", /environment "=1" is not NAME=value/],
  ])("rejects %j with a clear error", (spec, message) => {
    expect(() => parseVariant(spec, IMAGE)).toThrow(message);
  });
});
