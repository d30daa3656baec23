/** webtorrent's bittorrent-tracker, WebSocket only, in its own process: `node bt-tracker-server.ts PORT`. */
import Server from "bittorrent-tracker/server";

const port = Number(process.argv[2] ?? 0);
const server = new Server({ udp: false, http: false, ws: true, stats: false });
server.on("error", (error: Error) => process.stderr.write(`bittorrent-tracker: ${error.message}\n`));
server.on("warning", () => {});
server.listen(port, "127.0.0.1", () => process.stdout.write(`ready ${port}\n`));
