/**
 * How workerd queues one object's messages: socket A sends 40 slow requests
 * back to back, and 50 ms later socket B sends one. If the object took its
 * sockets in turn, B would be answered after one or two of A's. It waits
 * behind every one of A's that reached the object before it: all 40, unless
 * B's message overtakes the end of A's 2.4 MB on its way through wrangler's
 * proxy. Every socket's messages share the object's one queue, in arrival
 * order, however many one socket sent. `node bench/profile/object-queue.ts`
 */
import { UNBOUNDED, startOurTracker } from "../lib/servers.ts";
import { openClients } from "../lib/ws-load.ts";

const BURST = 40;
/** Usually long enough for A's 2.4 MB to reach the tracker through wrangler's proxy. */
const ARRIVAL_MS = 50;

const tracker = await startOurTracker(UNBOUNDED);
try {
  const [b] = await openClients(tracker.url, 1);
  const files = Array.from({ length: 1000 }, (_, f) => ({ path: `/queue/${f}`, size: f, root: "a".repeat(64) }));
  for (let trial = 1; trial <= 3; trial++) {
    // A counts its replies on a bare socket: the load client answers one request at a time.
    const a = new WebSocket(tracker.url);
    await new Promise((resolve) => a.addEventListener("open", resolve, { once: true }));
    let answered = 0;
    a.addEventListener("message", () => answered++);
    const slow = JSON.stringify({ id: 2, type: "register", user: `queue-a${trial}`, files });
    a.send(JSON.stringify({ id: 1, type: "hello", port: 2, protocol: 2 }));
    while (answered < 1) await new Promise((r) => setTimeout(r, 1));
    answered = 0;
    const sent = performance.now();
    for (let i = 0; i < BURST; i++) a.send(slow);
    await new Promise((r) => setTimeout(r, ARRIVAL_MS));
    const asked = performance.now();
    await b!.request(JSON.stringify({ id: 3, type: "list-users" }));
    const waited = performance.now() - asked;
    const before = answered;
    while (answered < BURST) await new Promise((r) => setTimeout(r, 2));
    process.stdout.write(
      `trial ${trial}: B's list-users answered in ${waited.toFixed(0)} ms, after ${before} of A's ${BURST} registers (A's all answered ${(performance.now() - sent).toFixed(0)} ms after A sent them)\n`,
    );
    a.close();
  }
} finally {
  await tracker.stop();
}
