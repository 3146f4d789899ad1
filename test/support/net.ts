/** A TCP port on 127.0.0.1 that was free a moment ago (for a child process to listen on). */
import * as net from "node:net"

export const freePort = () =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port
      server.close(() => resolve(port))
    })
  })
