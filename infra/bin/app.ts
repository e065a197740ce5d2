// CDK entry point. Run through infra/cdk.json after `npm run build`:
//   cd infra && npx cdk synth     (offline: the stack is environment-agnostic, no lookups)
// Context: -c namespaceName=ecs-services -c imageRepositoryName=cloudmap-sd -c imageTag=0.1.0
import { App } from "aws-cdk-lib";
import { PrometheusCloudMapStack } from "../lib/prometheus-stack.js";

const app = new App();
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key);
  return typeof value === "string" && value !== "" ? value : undefined;
};
new PrometheusCloudMapStack(app, "PrometheusCloudMap", {
  description: "Prometheus on ECS with cloudmap-sd service discovery, remote-writing to Amazon Managed Service for Prometheus",
  namespaceName: context("namespaceName"),
  imageRepositoryName: context("imageRepositoryName"),
  imageTag: context("imageTag"),
});
app.synth();
