#!/usr/bin/env node
// `npm run build`: bundles each runnable entry point into one ES module with esbuild, in a second
// or two. Type-checking is a separate step (`npm run typecheck`, part of `npm test`): tsc over
// src, dev, bench, test and the CDK app took ~48 s and made every `npm run demo` wait for it.
//
// Every bundle is written where tsc used to write that entry point (dist/src/main.js,
// dist/dev/demo.js, …), so everything that spawns a built file by path keeps working. Usage:
//   node build.mjs            every entry point
//   node build.mjs sidecar    only dist/src/main.js (the image's build stage)
import { mkdir, readdir, readFile, rename, rm, rmdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.join(ROOT, "dist");

/**
 * `standalone`: every dependency inside the bundle. The image ships dist/src and no node_modules,
 * and the bench worker must load the sidecar as the image does (its peak RSS is a target).
 * The others are development tools that run next to node_modules: their packages stay imports.
 */
const ENTRIES = {
  sidecar: [{ entry: "src/main.ts", standalone: true }],
  tools: [
    { entry: "dev/demo.ts" },
    { entry: "dev/emulator/main.ts" },
    { entry: "dev/soak.ts" },
    { entry: "bench/run.ts" },
    { entry: "bench/ab.ts" },
    { entry: "bench/worker.ts", standalone: true },
    // `cdk synth` runs node ../dist/infra/bin/app.js (infra/cdk.json).
    { entry: "infra/bin/app.ts" },
  ],
};

/**
 * Gives each bundled module the import.meta.url it had as a separate file under dist/, instead of
 * the bundle's. Modules find files relative to themselves (src/version.ts walks up to
 * package.json, dev/processes.ts finds dist/src/main.js, dev/emulator/main.ts its sample
 * topology), and src/main.ts runs main() only when import.meta.url is the started file: inside
 * dist/bench/worker.js, with the bundle's URL, that check would start a second sidecar.
 */
function moduleUrls(outfile) {
  return {
    name: "module-urls",
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
        const source = await readFile(args.path, "utf8");
        if (!source.includes("import.meta.url")) return undefined;
        const asBuilt = path.join(DIST, path.relative(ROOT, args.path)).replace(/\.ts$/, ".js");
        const relative = path.relative(path.dirname(outfile), asBuilt).split(path.sep).join("/");
        const url = `new URL(${JSON.stringify(relative.startsWith(".") ? relative : `./${relative}`)}, import.meta.url).href`;
        return { contents: source.replaceAll("import.meta.url", url), loader: "ts" };
      });
    },
  };
}

/**
 * `import … from "node:http"` in an ES module makes Node 22+ build the module's namespace from
 * every export, and reading `http.WebSocket` (and its siblings) loads undici and the web streams:
 * 14 MB of RSS in an empty Node 24 process (5 MB at the sidecar's start, where other modules load
 * part of it anyway) for code the sidecar never runs. require("node:http") reads only what
 * is used. So the standalone bundles get http and https through the bundle's require (issue 9).
 */
function builtinsThroughRequire() {
  const filter = /^(node:)?https?$/;
  return {
    name: "builtins-through-require",
    setup(build) {
      build.onResolve({ filter }, (args) =>
        // The require() inside the stand-in module is the real built-in, left to the bundle's require.
        args.namespace === "builtin-require"
          ? { path: args.path, external: true }
          : { path: args.path.replace(/^node:/, ""), namespace: "builtin-require" },
      );
      build.onLoad({ filter: /.*/, namespace: "builtin-require" }, (args) => ({
        contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
        loader: "js",
      }));
    },
  };
}

// CommonJS packages (pino, prom-client, parts of the AWS SDK) require() Node's built-ins; an ES
// module bundle has no `require` unless it makes one.
const REQUIRE_SHIM =
  'import { createRequire as __bundleCreateRequire } from "node:module"; const require = __bundleCreateRequire(import.meta.url);';

async function bundle({ entry, standalone = false }, outdir) {
  const built = entry.replace(/\.ts$/, ".js");
  await esbuild.build({
    entryPoints: [path.join(ROOT, entry)],
    outfile: path.join(outdir, built),
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    sourcemap: true,
    // Started with --enable-source-maps, stack traces name src/ files and lines; the map does not
    // need the sources themselves. The image does not enable it (on Node 24 it costs ~55 MB of RSS).
    sourcesContent: false,
    packages: standalone ? "bundle" : "external",
    // ES module builds of dependencies (the AWS SDK's dist-es) over their CommonJS main: the
    // sidecar's bundle is 2.2 MB instead of 3.1 MB and starts with ~8 MB less RSS.
    mainFields: ["module", "main"],
    banner: standalone ? { js: REQUIRE_SHIM } : {},
    // Relative to where the bundle will live, not to the staging folder it is written to.
    plugins: [moduleUrls(path.join(DIST, built)), ...(standalone ? [builtinsThroughRequire()] : [])],
    logLevel: "warning",
    // Bundling renames clashing top-level names (two modules' `Foo` become Foo and Foo2). The
    // development bundles keep the `.name` of classes and functions as written, for their stack
    // traces. The standalone ones do not: keepNames wraps every function the AWS SDK creates per
    // request (its middleware closures) in a call that redefines its name, which cost 9-17 % of the
    // sidecar's CPU per steady cycle (interleaved A/B, Node 24 / Node 20). Nothing reads those
    // names: every error class of ours sets `name` itself (describeError and failureKind read it),
    // and the bundle test checks that none of ours is renamed.
    keepNames: !standalone,
    // The standalone bundles (the sidecar, the bench worker) keep their source text in the heap
    // for as long as they run: whitespace and syntax minified (names kept) is ~4.6 MB less of it.
    minifyWhitespace: standalone,
    minifySyntax: standalone,
  });
}

const wanted = process.argv.slice(2);
for (const name of wanted) {
  if (name in ENTRIES) continue;
  process.stderr.write(`build.mjs: unknown target ${name} (known: ${Object.keys(ENTRIES).join(", ")})\n`);
  process.exit(2);
}
const entries = (wanted.length > 0 ? wanted : Object.keys(ENTRIES)).flatMap((name) => ENTRIES[name]);
const outputs = entries.flatMap(({ entry }) => {
  const built = entry.replace(/\.ts$/, ".js");
  return [built, `${built}.map`];
});

/** Files under `dir`, relative to it. */
async function filesUnder(dir) {
  const found = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return found.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

// Written to a staging folder, then renamed file by file over the previous build: a test or a
// demo starting dist/src/main.js while this runs gets the old file or the new one, never none.
const staging = path.join(ROOT, `.tmp-build-${process.pid}`); // .tmp*/ is git-ignored
const started = performance.now();
try {
  await Promise.all(entries.map((entry) => bundle(entry, staging)));
  for (const file of outputs) {
    await mkdir(path.dirname(path.join(DIST, file)), { recursive: true });
    await rename(path.join(staging, file), path.join(DIST, file));
  }
  // A full build also removes what an older build left (tsc wrote one file per module).
  if (wanted.length === 0) {
    for (const file of await filesUnder(DIST)) if (!outputs.includes(file)) await rm(path.join(DIST, file));
    const dirs = (await readdir(DIST, { recursive: true, withFileTypes: true })).filter((e) => e.isDirectory());
    const deepestFirst = dirs.map((e) => path.join(e.parentPath, e.name)).sort((a, b) => b.length - a.length);
    for (const dir of deepestFirst) await rmdir(dir).catch(() => {}); // fails, as meant, unless left empty
  }
} finally {
  await rm(staging, { recursive: true, force: true });
}
process.stderr.write(`bundled ${entries.map((e) => e.entry).join(", ")} in ${Math.round(performance.now() - started)} ms\n`);
