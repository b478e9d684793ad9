/** An HTTP server that holds every request until released: keeps runs running for as long as a test needs. */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  url: string;
  /** Requests held now. */
  held: ServerResponse[];
  /** Requests answered so far. */
  answered: number;
  /** Answers every held request (and, while open, every later one at once). */
  release(open?: boolean): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  let open = false;
  const gate: Gate = {
    url: '',
    held: [],
    answered: 0,
    release(keepOpen = false) {
      open = keepOpen;
      for (const res of gate.held.splice(0)) answer(res);
    },
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
  const answer = (res: ServerResponse) => {
    gate.answered++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => (open ? answer(res) : gate.held.push(res)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  gate.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return gate;
}
