import { describe, expect, it } from "vitest";
import { buildTargetGroups, targetKey } from "../../src/core/target-groups.js";
import type { ServiceSnapshot } from "../../src/core/model.js";
import { AwsCallError } from "../../src/errors.js";
import { buildStatus } from "../../src/status/build-status.js";
import { escapeHtml, parsePageQuery, renderStatusPage, SERVICES_PER_PAGE } from "../../src/status/page.js";
import type { Status } from "../../src/status/status.js";
import { instance, namespace, snapshot } from "../helpers/fixtures.js";

const WALL = Date.UTC(2026, 0, 1);
const XSS = "<script>alert(1)</script>";

function statusOf(snapshots: ServiceSnapshot[], errors: Error[] = [], names = ["prod.local"]): Status {
  const { groups, skips } = buildTargetGroups(snapshots);
  return buildStatus(
    {
      options: { version: "0.1.0", parameterName: "NS", intervalSeconds: 30, ecsEnrichment: "auto" },
      startedAt: { monotonicMs: 0, wallMs: WALL },
      parameter: { value: names.join(","), names, readAtMs: WALL },
      latest: { names, snapshots, skips, keys: groups.map(targetKey), missingNamespaces: [], lastCompleteAt: new Map(names.map((n) => [n, 0])), errors },
      reads: new Map(),
      errors: [],
      cycles: [{ startedAtMs: WALL, outcome: "success", durationMs: 5, apiCalls: 3, targets: groups.length, added: groups.length, removed: 0, errors: 0, file: "written" }],
      cycleCount: 1,
    },
    { monotonicMs: 1_000, wallMs: WALL + 1_000 },
  );
}

/** Rows of the services table: one <tr> with a data-service attribute each. */
const serviceRows = (html: string) => [...html.matchAll(/<tr class="svc-[^"]*" data-service="([^"]*)"/g)].map((match) => match[1]);

describe("renderStatusPage", () => {
  it("escapes every value that comes from AWS or users: a service named <script>alert(1)</script> is text", () => {
    // Prepare: hostile names, tag values, namespace names and error messages
    const hostileNs = namespace({ name: `ns"><img src=x onerror=alert(2)>`, id: "ns-x" });
    const status = statusOf(
      [
        snapshot({ serviceName: XSS, serviceId: "srv-xss", tags: { METRICS_PATH: "/metrics", METRICS_PORT: `"'><b>` } }),
        snapshot({ serviceName: "web", namespace: hostileNs, serviceId: "srv-web" }),
      ],
      [new AwsCallError("ListServices", { namespace: hostileNs.name }, { cause: new Error(XSS) })],
      ["prod.local", hostileNs.name],
    );

    // Act
    const html = renderStatusPage(status, { q: `"><script>x</script>` });

    // Assess: no markup from the data, only its escaped text
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<b>");
    expect(html).toContain("&#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).toContain("&#34;&#62;&#60;img src=x onerror=alert(2)&#62;");
    expect(html).toContain('value="&#34;&#62;&#60;script&#62;x&#60;/script&#62;"');
  });

  it("uses no script and no external asset: inline CSS and relative links only", () => {
    const html = renderStatusPage(statusOf([snapshot()]));
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
    expect(html).toContain("<style>");
    expect(html).toMatch(/<form method="get" action="\/">/);
  });

  it("shows a scraped service, a skipped one with its reason and offending value, and a namespace in error", () => {
    const staging = namespace({ name: "staging.local", id: "ns-staging" });
    const status = statusOf(
      [snapshot({ serviceName: "web" }), snapshot({ serviceName: "bad", serviceId: "srv-bad", tags: { METRICS_PORT: "70000" } }), snapshot({ namespace: staging, serviceId: "srv-s" })],
      [new AwsCallError("ListServices", { namespace: "staging.local" }, { cause: Object.assign(new Error("not allowed"), { name: "AccessDeniedException" }) })],
      ["prod.local", "staging.local"],
    );

    const html = renderStatusPage(status);

    expect(html).toMatch(/data-service="prod\.local\/web"[\s\S]*?badge ok">scraped/);
    expect(html).toMatch(/data-service="prod\.local\/bad"[\s\S]*?not scraped[\s\S]*?invalid_metrics_port[\s\S]*?&#34;70000&#34;/);
    expect(html).toMatch(/<tr class="ns-error">[\s\S]*?staging\.local[\s\S]*?AccessDeniedException: not allowed/);
  });

  it("filters by service name and by 'needs a look' from the query string", () => {
    const status = statusOf([snapshot({ serviceName: "web" }), snapshot({ serviceName: "api", serviceId: "srv-api" }), snapshot({ serviceName: "worker", serviceId: "srv-w", tags: {} })]);

    expect(serviceRows(renderStatusPage(status, parsePageQuery(new URLSearchParams("q=WE"))))).toEqual(["prod.local/web"]);
    expect(serviceRows(renderStatusPage(status, parsePageQuery(new URLSearchParams("problems=1"))))).toEqual(["prod.local/worker"]);
    expect(serviceRows(renderStatusPage(status, parsePageQuery(new URLSearchParams("q=prod.local/a"))))).toEqual(["prod.local/api"]);
    expect(renderStatusPage(status, { q: "nothing" })).toContain("No service matches.");
  });

  it("pages 500 services, 100 a page, with links that keep the filter", () => {
    const snapshots = Array.from({ length: 500 }, (_, i) => {
      const name = `svc-${String(i).padStart(3, "0")}`;
      return snapshot({ serviceName: name, serviceId: `srv-${i}`, instances: [instance(`t${i}`)] });
    });
    const status = statusOf(snapshots);

    const first = renderStatusPage(status, { q: "svc" });
    const last = renderStatusPage(status, parsePageQuery(new URLSearchParams("q=svc&page=5")));
    const beyond = renderStatusPage(status, parsePageQuery(new URLSearchParams("page=99")));

    expect(serviceRows(first)).toHaveLength(SERVICES_PER_PAGE);
    expect(serviceRows(first)[0]).toBe("prod.local/svc-000");
    expect(first).toContain("page 1 of 5");
    expect(first).toContain('href="?q=svc&#38;page=2"');
    expect(serviceRows(last)[SERVICES_PER_PAGE - 1]).toBe("prod.local/svc-499");
    expect(serviceRows(beyond)[0]).toBe("prod.local/svc-400");
    // Bounded: a page of 100 rows, whatever the estate's size.
    expect(first.length).toBeLessThan(200_000);
  });
});

describe("parsePageQuery", () => {
  it("accepts q, problems=1 and a page above 1; ignores the rest", () => {
    expect(parsePageQuery(new URLSearchParams("q=%20web%20&problems=1&page=3"))).toEqual({ q: "web", problems: true, page: 3 });
    expect(parsePageQuery(new URLSearchParams("q=&problems=yes&page=-2"))).toEqual({});
    expect(parsePageQuery(new URLSearchParams("page=abc"))).toEqual({});
    expect(parsePageQuery(new URLSearchParams(`q=${"x".repeat(500)}`)).q).toHaveLength(200);
  });
});

describe("escapeHtml", () => {
  it("escapes the five characters that matter in text and quoted attributes", () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe("&#60;a href=&#34;x&#34; title=&#39;y&#39;&#62;&#38;&#60;/a&#62;");
  });
});
