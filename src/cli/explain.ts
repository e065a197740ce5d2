import type { ServiceStatus, Status } from "../status/status.js";

/** `explain [namespace[/service]]`: which part of the estate to show. */
export interface ExplainFilter {
  readonly namespace?: string;
  readonly service?: string;
}

/** "ns" or "ns/service"; a service name cannot contain "/" in Cloud Map, a namespace name can't either. */
export function parseExplainFilter(argument: string | undefined): ExplainFilter | undefined {
  if (argument === undefined) return {};
  const [namespace, service, ...rest] = argument.split("/");
  if (!namespace || rest.length > 0 || service === "") return undefined;
  return { namespace, ...(service === undefined ? {} : { service }) };
}

/**
 * The table `explain` prints, and its exit code: 0 when everything listed was read (whether it is
 * scraped or not: "not configured" is an answer), 1 when a listed part could not be read or the
 * filter names something discovery does not know.
 */
export function explainText(status: Status, filter: ExplainFilter): { text: string; code: 0 | 1 } {
  const lines: string[] = [];
  const problems: string[] = [];
  const parameter = status.namespacesParameter;
  lines.push(`namespaces parameter ${parameter.name}: ${parameter.error ? `READ FAILED: ${parameter.error}` : JSON.stringify(parameter.value ?? "")}`);
  if (parameter.error) problems.push("the namespaces parameter could not be read");

  const namespaces = status.namespaces.filter((namespace) => filter.namespace === undefined || namespace.name === filter.namespace);
  if (filter.namespace !== undefined && namespaces.length === 0 && !parameter.error) {
    problems.push(`namespace ${JSON.stringify(filter.namespace)} is not listed in ${parameter.name} (it lists: ${parameter.namespaces.join(", ") || "nothing"})`);
  }
  for (const namespace of namespaces) {
    const facts = [namespace.types.join(", "), namespace.ids.join(", "), namespace.owner ? `owner ${namespace.owner}` : ""].filter(Boolean).join(" · ");
    lines.push(`namespace ${namespace.name}: ${namespace.state.replace("_", " ")}${facts ? ` (${facts})` : ""}${namespace.error ? `: ${namespace.error}` : ""}`);
    if (namespace.state !== "ok") problems.push(`namespace ${namespace.name} is ${namespace.state.replace("_", " ")}`);
  }

  const services = status.services.filter(
    (service) =>
      (filter.namespace === undefined || service.namespace === filter.namespace) && (filter.service === undefined || service.name === filter.service),
  );
  if (filter.service !== undefined && services.length === 0 && namespaces.length > 0) {
    problems.push(`service ${JSON.stringify(filter.service)} is not in namespace ${JSON.stringify(filter.namespace)}`);
  }
  for (const service of services) {
    if (service.error) problems.push(`${service.namespace}/${service.name}: ${service.error}`);
    else if (service.ecs?.error) problems.push(`${service.namespace}/${service.name}: ECS: ${service.ecs.error}`);
    else if (service.state === "waiting_for_ecs") problems.push(`${service.namespace}/${service.name}: its ECS data is not read`);
  }

  lines.push("");
  lines.push(...table(services));
  lines.push("");
  if (problems.length === 0) {
    lines.push(`everything listed was read: ${services.filter((s) => s.scraped).length} of ${services.length} services scraped, ${services.reduce((n, s) => n + s.targets, 0)} targets`);
  } else {
    lines.push("NOT everything listed was read:");
    for (const problem of problems) lines.push(`  - ${problem}`);
  }
  return { text: `${lines.join("\n")}\n`, code: problems.length === 0 ? 0 : 1 };
}

function table(services: readonly ServiceStatus[]): string[] {
  if (services.length === 0) return ["(no service)"];
  const header = ["NAMESPACE", "SERVICE", "SOURCE", "INSTANCES", "TARGETS", "STATUS", "WHY"];
  const rows = services.map((service) => [
    service.namespace,
    service.name,
    service.source.replace("_", " "),
    service.instances === undefined ? "-" : String(service.instances),
    String(service.targets),
    `${service.scraped ? "scraped" : "NOT scraped"}${service.lastKnownGoodSince ? " (last-known-good)" : ""}`,
    [service.why, ...service.skips.map((skip) => `[${skip.reason}] ${skip.detail}`), service.error ? `error: ${service.error}` : ""]
      .filter(Boolean)
      .join("; "),
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] as string).length)));
  const format = (row: readonly string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join("  ")
      .trimEnd();
  return [format(header), ...rows.map(format)];
}
