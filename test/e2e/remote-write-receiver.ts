import { once } from "node:events";
import { createServer, type Server } from "node:http";
import protobuf from "protobufjs";
import SnappyJS from "snappyjs";

/** Prometheus remote-write 1.0 (what AMP accepts): snappy block-compressed protobuf WriteRequest. */
const REMOTE_PROTO = `
syntax = "proto3";
message WriteRequest { repeated TimeSeries timeseries = 1; repeated MetricMetadata metadata = 3; }
message TimeSeries { repeated Label labels = 1; repeated Sample samples = 2; }
message Label { string name = 1; string value = 2; }
message Sample { double value = 1; int64 timestamp = 2; }
message MetricMetadata { int32 type = 1; string metric_family_name = 2; string help = 4; string unit = 5; }
`;
const WriteRequest = protobuf.parse(REMOTE_PROTO).root.lookupType("WriteRequest");

export interface ReceivedSeries {
  readonly labels: Record<string, string>;
  readonly samples: number;
}

export interface RemoteWriteReceiver {
  readonly url: string;
  /** Every series received so far (labels as a plain object). */
  readonly series: ReceivedSeries[];
  readonly requests: number;
  readonly rejected: number;
  close(): Promise<void>;
}

/** A minimal AMP stand-in: decodes and keeps what Prometheus remote-writes. */
export async function startRemoteWriteReceiver(): Promise<RemoteWriteReceiver> {
  const series: ReceivedSeries[] = [];
  const state = { requests: 0, rejected: 0 };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      state.requests++;
      try {
        if (request.headers["content-encoding"] !== "snappy") throw new Error("expected Content-Encoding: snappy");
        const decoded = WriteRequest.toObject(WriteRequest.decode(SnappyJS.uncompress(Buffer.concat(chunks))), {
          longs: Number,
          defaults: true,
        }) as { timeseries: Array<{ labels: Array<{ name: string; value: string }>; samples: unknown[] }> };
        for (const ts of decoded.timeseries) {
          series.push({ labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])), samples: ts.samples.length });
        }
        response.writeHead(204).end();
      } catch (error) {
        state.rejected++;
        response.writeHead(400).end(String(error));
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}/api/v1/write`,
    series,
    get requests() {
      return state.requests;
    },
    get rejected() {
      return state.rejected;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
