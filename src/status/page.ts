import type { CycleStatus, ErrorStatus, NamespaceStatus, ServiceStatus, Status } from "./status.js";

/** Services per page: 500 services are five pages of a table a browser renders at once. */
export const SERVICES_PER_PAGE = 100;

/** What the page's query string asks for: ?q=name filter, ?problems=1, ?page=N (1-based). */
export interface PageQuery {
  readonly q?: string;
  readonly problems?: boolean;
  readonly page?: number;
}

export function parsePageQuery(search: URLSearchParams): PageQuery {
  const q = search.get("q")?.trim() ?? "";
  const page = Number.parseInt(search.get("page") ?? "1", 10);
  return {
    ...(q === "" ? {} : { q: q.slice(0, 200) }),
    ...(search.get("problems") === "1" ? { problems: true } : {}),
    ...(Number.isSafeInteger(page) && page > 1 ? { page } : {}),
  };
}

/** Every value that reaches the page goes through here: names, tags and errors come from AWS and users. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** A service that needs a look: not scraped, reading it fails, or some endpoints are skipped. */
export function needsAttention(service: ServiceStatus): boolean {
  return !service.scraped || service.error !== undefined || service.skips.length > 0 || service.ecs?.error !== undefined;
}

/**
 * The status page, rendered on the server from the status document: no script, no external
 * asset, inline CSS; the filter is a GET form, so it works with JavaScript off.
 */
export function renderStatusPage(status: Status, query: PageQuery = {}): string {
  const { summary } = status;
  const needle = query.q?.toLowerCase();
  const matching = status.services.filter(
    (service) =>
      (!query.problems || needsAttention(service)) &&
      (needle === undefined || `${service.namespace}/${service.name}`.toLowerCase().includes(needle)),
  );
  const pages = Math.max(1, Math.ceil(matching.length / SERVICES_PER_PAGE));
  const page = Math.min(query.page ?? 1, pages);
  const shown = matching.slice((page - 1) * SERVICES_PER_PAGE, page * SERVICES_PER_PAGE);
  const ready = status.sidecar.ready;
  const problems = status.services.filter(needsAttention).length;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cloudmap-sd status</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>cloudmap-sd</h1>
<p class="meta">version ${escapeHtml(status.sidecar.version)} · started ${time(status.sidecar.startedAt)} · every ${escapeHtml(status.sidecar.intervalSeconds)} s · ECS_ENRICHMENT=${escapeHtml(status.sidecar.ecsEnrichment)} · page made ${time(status.generatedAt)}${
    ready === undefined ? "" : ` · ${ready ? badge("ok", "ready") : badge("bad", "not ready")}`
  }${status.sidecar.healthReason ? ` <span class="why">${escapeHtml(status.sidecar.healthReason)}</span>` : ""}</p>
<p class="summary">${escapeHtml(summary.cycles)} cycles${summary.lastCycleOutcome ? ` (last: ${outcomeBadge(summary.lastCycleOutcome)})` : ""} ·
${escapeHtml(summary.namespaces)} namespaces${summary.namespacesInError ? ` (${badge("bad", `${summary.namespacesInError} not ok`)})` : ""} ·
${escapeHtml(summary.services)} services: ${escapeHtml(summary.servicesScraped)} scraped, ${escapeHtml(summary.servicesNotScraped)} not scraped${
    problems ? `, <a href="?problems=1">${escapeHtml(problems)} need a look</a>` : ""
  } · ${escapeHtml(summary.targets)} targets · ${escapeHtml(summary.skippedEndpoints)} endpoints skipped · file: ${escapeHtml(status.file.outcome)}</p>
</header>
<main>
${parameterSection(status)}
${namespacesSection(status.namespaces)}
<section id="services">
<h2>Services</h2>
<form method="get" action="/">
<label>service <input type="search" name="q" value="${escapeHtml(query.q ?? "")}" placeholder="namespace/name contains…"></label>
<label><input type="checkbox" name="problems" value="1"${query.problems ? " checked" : ""}> only those that need a look</label>
<button type="submit">filter</button>${query.q || query.problems ? ' <a href="/">clear</a>' : ""}
</form>
<p class="meta">${escapeHtml(matching.length)} of ${escapeHtml(status.services.length)} services${
    pages > 1 ? ` · page ${escapeHtml(page)} of ${escapeHtml(pages)} ${pager(query, page, pages)}` : ""
  }</p>
${servicesTable(shown)}
</section>
${errorsSection(status.errors)}
${cyclesSection(status.cycles)}
</main>
<footer><a href="/api/v1/status">/api/v1/status</a> (this page as JSON) · <a href="/metrics">/metrics</a> · <a href="/prometheus-targets">/prometheus-targets</a> · <a href="/ready">/ready</a> · <a href="/healthz">/healthz</a></footer>
</body>
</html>
`;
}

function parameterSection(status: Status): string {
  const parameter = status.namespacesParameter;
  return `<section id="parameter">
<h2>Namespaces parameter</h2>
<p><code>${escapeHtml(parameter.name)}</code> ${parameter.error ? badge("bad", "read failed") : parameter.readAt ? badge("ok", "read") : badge("warn", "not read yet")}
${parameter.readAt ? ` last read ${time(parameter.readAt)}` : ""}${parameter.value === undefined ? "" : ` · value <code>${escapeHtml(parameter.value)}</code>`}</p>
${parameter.error ? `<p class="error">${escapeHtml(parameter.error)}</p>` : ""}
</section>`;
}

function namespacesSection(namespaces: readonly NamespaceStatus[]): string {
  const rows = namespaces.map(
    (namespace) => `<tr class="ns-${escapeHtml(namespace.state)}">
<td><strong>${escapeHtml(namespace.name)}</strong>${namespace.owner ? `<br><span class="meta">owner ${escapeHtml(namespace.owner)}</span>` : ""}</td>
<td>${stateBadge(namespace.state)}</td>
<td>${escapeHtml(namespace.types.join(", ") || "—")}</td>
<td><code>${escapeHtml(namespace.ids.join(", ") || "—")}</code></td>
<td>${namespace.lastCompleteReadAt ? time(namespace.lastCompleteReadAt) : "never"}</td>
<td class="num">${namespace.stalenessSeconds === undefined ? "—" : `${escapeHtml(namespace.stalenessSeconds)} s`}</td>
<td class="num">${escapeHtml(namespace.services)}</td>
<td class="num">${escapeHtml(namespace.targets)}</td>
<td class="why">${namespace.error ? `<span class="error">${escapeHtml(namespace.error)}</span>` : ""}</td>
</tr>`,
  );
  return `<section id="namespaces">
<h2>Namespaces</h2>
${
  rows.length === 0
    ? "<p>No namespace known yet.</p>"
    : `<table><thead><tr><th>namespace</th><th>state</th><th>type</th><th>id</th><th>last complete read</th><th>staleness</th><th>services</th><th>targets</th><th>error</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`
}
</section>`;
}

function servicesTable(services: readonly ServiceStatus[]): string {
  if (services.length === 0) return "<p>No service matches.</p>";
  const rows = services.map((service) => {
    const skips = service.skips.map((skip) => `<li><code>${escapeHtml(skip.reason)}</code> ${escapeHtml(skip.detail)}</li>`);
    if (service.moreSkips) skips.push(`<li>and ${escapeHtml(service.moreSkips)} more</li>`);
    const ecs = service.ecs
      ? `<br><span class="meta">ECS: ${escapeHtml(service.ecs.enriched)}/${escapeHtml(service.ecs.tasks)} tasks described</span>${
          service.ecs.error ? `<br><span class="error">ECS enrichment failing: ${escapeHtml(service.ecs.error)}</span>` : ""
        }`
      : "";
    const lkg = service.lastKnownGoodSince
      ? `<br>${badge("warn", "last-known-good")} since ${time(service.lastKnownGoodSince)}`
      : "";
    return `<tr class="svc-${escapeHtml(service.state)}" data-service="${escapeHtml(`${service.namespace}/${service.name}`)}">
<td>${escapeHtml(service.namespace)}</td>
<td><strong>${escapeHtml(service.name)}</strong><br><code class="meta">${escapeHtml(service.id)}</code></td>
<td>${service.scraped ? badge("ok", "scraped") : badge(service.state === "skipped" || service.state === "waiting_for_ecs" ? "bad" : "muted", "not scraped")}<br><span class="meta">${escapeHtml(service.state.replaceAll("_", " "))}</span></td>
<td>${escapeHtml(service.source.replaceAll("_", " "))}</td>
<td class="why">${escapeHtml(service.why)}${skips.length ? `<ul>${skips.join("")}</ul>` : ""}${ecs}${
      service.error ? `<br><span class="error">${escapeHtml(service.error)}</span>` : ""
    }${lkg}</td>
<td class="num">${service.instances === undefined ? "—" : escapeHtml(service.instances)}</td>
<td class="num">${escapeHtml(service.targets)}</td>
<td class="num">${service.revision === undefined ? "—" : escapeHtml(service.revision)}</td>
<td>${service.lastReadAt ? time(service.lastReadAt) : "never"}</td>
</tr>`;
  });
  return `<table><thead><tr><th>namespace</th><th>service</th><th>scraped</th><th>source</th><th>why</th><th>instances</th><th>targets</th><th>revision</th><th>last read</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`;
}

function errorsSection(errors: readonly ErrorStatus[]): string {
  const rows = errors.map(
    (error) => `<tr>
<td>${error.current ? badge("bad", "failing") : badge("muted", "cleared")}</td>
<td><code>${escapeHtml(error.operation)}</code></td>
<td>${escapeHtml(error.scope || "—")}</td>
<td>${escapeHtml(error.kind)}</td>
<td class="why">${escapeHtml(error.message)}<br><span class="meta">${escapeHtml(error.hint)}</span></td>
<td>${time(error.firstAt)}</td>
<td>${time(error.lastAt)}</td>
<td class="num">${escapeHtml(error.cycles)}</td>
</tr>`,
  );
  return `<section id="errors">
<h2>Last errors</h2>
${
  rows.length === 0
    ? "<p>No error since start.</p>"
    : `<table><thead><tr><th></th><th>operation</th><th>scope</th><th>kind</th><th>error and what to check</th><th>first</th><th>last</th><th>cycles</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`
}
</section>`;
}

function cyclesSection(cycles: readonly CycleStatus[]): string {
  const rows = cycles.map(
    (cycle) => `<tr>
<td>${time(cycle.startedAt)}</td>
<td>${outcomeBadge(cycle.outcome)}${cycle.overran ? ` ${badge("warn", "overran")}` : ""}</td>
<td class="num">${escapeHtml(cycle.durationMs)} ms</td>
<td class="num">${escapeHtml(cycle.apiCalls)}</td>
<td class="num">${escapeHtml(cycle.targets)}</td>
<td class="num">+${escapeHtml(cycle.added)} −${escapeHtml(cycle.removed)}</td>
<td class="num">${escapeHtml(cycle.errors)}</td>
<td>${escapeHtml(cycle.file)}</td>
</tr>`,
  );
  return `<section id="cycles">
<h2>Last cycles</h2>
${
  rows.length === 0
    ? "<p>No cycle has finished yet.</p>"
    : `<table><thead><tr><th>started</th><th>outcome</th><th>duration</th><th>AWS calls</th><th>targets</th><th>added/removed</th><th>errors</th><th>file</th></tr></thead>
<tbody>${rows.join("\n")}</tbody></table>`
}
</section>`;
}

function pager(query: PageQuery, page: number, pages: number): string {
  const link = (target: number, text: string) => {
    const search = new URLSearchParams();
    if (query.q) search.set("q", query.q);
    if (query.problems) search.set("problems", "1");
    search.set("page", String(target));
    return `<a href="?${escapeHtml(search.toString())}">${text}</a>`;
  };
  return [page > 1 ? link(page - 1, "← previous") : "", page < pages ? link(page + 1, "next →") : ""].filter(Boolean).join(" ");
}

function time(iso: string): string {
  return `<time datetime="${escapeHtml(iso)}">${escapeHtml(iso.replace("T", " ").replace(/\.\d+Z$/, "Z"))}</time>`;
}

function badge(tone: "ok" | "warn" | "bad" | "muted", text: string): string {
  return `<span class="badge ${tone}">${escapeHtml(text)}</span>`;
}

function outcomeBadge(outcome: string): string {
  return badge(outcome === "success" ? "ok" : outcome === "partial" ? "warn" : "bad", outcome);
}

function stateBadge(state: NamespaceStatus["state"]): string {
  return badge(state === "ok" ? "ok" : state === "never_read" ? "warn" : "bad", state.replace("_", " "));
}

const CSS = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header,main,footer{padding:0 24px}header{background:#fff;border-bottom:1px solid #dde1e6;padding-top:8px;padding-bottom:4px}
h1{font-size:20px;margin:4px 0}h2{font-size:16px;margin:20px 0 8px}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid #dde1e6}
th,td{text-align:left;vertical-align:top;padding:5px 8px;border-bottom:1px solid #eceff3}td strong,time{white-space:nowrap}th{background:#eef1f5;font-weight:600}
td.num{text-align:right;white-space:nowrap}td.why{max-width:560px}td ul{margin:4px 0;padding-left:18px}
code{font:12px ui-monospace,Menlo,Consolas,monospace}.meta{color:#5c6675;font-size:12px}
.error{color:#a3151b}.badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px;font-weight:600}
.badge.ok{background:#dcf3e3;color:#14632f}.badge.warn{background:#fff0c9;color:#7a5300}.badge.bad{background:#fbe0e0;color:#a3151b}.badge.muted{background:#eceff3;color:#5c6675}
tr.ns-error td,tr.ns-not_found td{background:#fff7f7}form{margin:8px 0}input[type=search]{width:260px;padding:3px}
footer{margin:24px 0;color:#5c6675}
`;
