// The package ships no types; only what the benchmark uses.
declare module "bittorrent-tracker/server" {
  import type { EventEmitter } from "node:events";
  export default class Server extends EventEmitter {
    constructor(options: { udp: boolean; http: boolean; ws: boolean; stats: boolean });
    listen(port: number, host: string, onListening: () => void): void;
    close(onClose?: () => void): void;
  }
}
