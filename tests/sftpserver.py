"""A real SFTP server for tests: asyncssh's, in a background thread, on 127.0.0.1 and a free port.

    with SftpServer(tmp_path) as server:
        target = server.target(name="station")     # a DeliveryTarget pointing at it

Host and client keys are generated fresh into the test's folder (ed25519); the server
accepts only the client key (authorized_keys) and serves one folder (`server.root`,
chrooted). `cut_after = N` makes the server drop the whole connection (TCP close, no
SFTP status) once N bytes of one file have arrived, as a link that dies mid-file does.
"""
from __future__ import annotations

import asyncio
import threading
import warnings
from pathlib import Path

from toolkit.delivermodel import DeliveryKind, DeliveryTarget

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import asyncssh


class SftpServer:
    """asyncssh's SSH server with its SFTP subsystem, serving `root` only."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.root = self.folder / "station"
        self.root.mkdir(parents=True, exist_ok=True)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.client_key = asyncssh.generate_private_key("ssh-ed25519")
        self.identity = self.folder / "id_ed25519"
        self.client_key.write_private_key(str(self.identity))
        self.authorized = self.folder / "authorized_keys"
        self.client_key.write_public_key(str(self.authorized))
        self.cut_after: int | None = None
        self.cuts = 0                       # connections dropped by `cut_after`
        self.bytes_written = 0              # file bytes the server received (all runs)
        self.writes_by_name: dict[str, int] = {}
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.listener = self._call(self._listen())
        self.port = self.listener.get_port()
        self.known_hosts = self.folder / "known_hosts"
        self.known_hosts.write_text(self.known_hosts_line(self.host_key))

    def known_hosts_line(self, key: asyncssh.SSHKey) -> str:
        """A known_hosts line for this server's address with `key`."""
        return f"[127.0.0.1]:{self.port} {key.export_public_key().decode().strip()}\n"

    def _call(self, coro):  # noqa: ANN001, ANN202
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _listen(self):  # noqa: ANN202
        server = self

        class SFTP(asyncssh.SFTPServer):
            def __init__(self, chan: asyncssh.SSHServerChannel) -> None:
                super().__init__(chan, chroot=str(server.root).encode())
                self.received: dict[object, int] = {}

            def write(self, file_obj, offset, data):  # noqa: ANN001, ANN201
                name = getattr(file_obj, "name", "?")
                got = self.received.get(file_obj, 0) + len(data)
                self.received[file_obj] = got
                if server.cut_after is not None and got > server.cut_after \
                        and not str(name).endswith(".podkit-delivery.json.part"):
                    # Write what fits under the limit, then drop the connection.
                    keep = len(data) - (got - server.cut_after)
                    if keep > 0:
                        super().write(file_obj, offset, data[:keep])
                    server.cuts += 1
                    server.cut_after = None
                    self.channel.get_connection().abort()
                    raise asyncssh.SFTPConnectionLost("cut by the test server")
                server.bytes_written += len(data)
                base = Path(str(name)).name
                server.writes_by_name[base] = server.writes_by_name.get(base, 0) + len(data)
                return super().write(file_obj, offset, data)

        class Server(asyncssh.SSHServer):
            pass

        return await asyncssh.listen(
            "127.0.0.1", 0, server_factory=Server, server_host_keys=[self.host_key],
            authorized_client_keys=str(self.authorized), sftp_factory=SFTP,
            allow_scp=False, config=[])

    def target(self, **kw: object) -> DeliveryTarget:
        """A DeliveryTarget for this server: key authentication, its known_hosts, no agent."""
        options: dict[str, object] = dict(
            name="station", cut="air", kind=DeliveryKind.SFTP, host="127.0.0.1",
            port=self.port, user="podkit", path="/incoming", identity=self.identity,
            known_hosts=self.known_hosts, agent=False, timeout=10.0)
        options.update(kw)
        (self.root / str(options["path"]).strip("/")).mkdir(parents=True, exist_ok=True)
        return DeliveryTarget(**options)  # type: ignore[arg-type]

    def close(self) -> None:
        """Stop listening and the loop's thread."""
        async def stop() -> None:
            # On the loop's own thread: asyncio is not thread-safe, and a close from this
            # thread raced the loop's wake-up of the server's waiters (a TypeError in
            # teardown under load).
            self.listener.close()
            await self.listener.wait_closed()
        try:
            self._call(stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()

    def __enter__(self) -> SftpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
