"""Live collaboration figures: our server (``ppa serve``: auth, durable update log, relay) against
pycrdt-websocket 0.16.5, the nearest Python peer, and the stock node y-websocket 1.5.4 server
(memory only, the issue 18 baseline), in the same run and on the same load.

Run: ``taskset -c 0 .venv/bin/python bench/bench_collab.py`` (about 10 minutes; the commands of
issue 18 are in bench/README.md). Every server runs pinned to core 1 (``taskset -c 1``), the load
generator to core 0. The peer runs from its own venv (``--peer-venv``, default
``/tmp/pycrdt-ws-venv``), created with pip when missing; node y-websocket from bench/node (its
package.json and lockfile), installed with ``npm ci`` from the npm registry when missing: neither
is a dependency of this project. The run ends with each server's p99 and CPU per delivery
against node y-websocket's (the issue's acceptance: within 2x and 1.5x).

Scale-out (``--ours-processes 1,2 --redis-url redis://...``): one server per number, that many
``ppa serve`` processes sharing a fresh database and Redis, pinned in turn to ``--server-cpus``;
``--spread clients`` puts each client of a document on the next process (every update crosses
Redis), ``--spread rooms`` a document's clients on one process. CPU and RSS are those of all the
processes.

For each scenario of N clients x R updates/s on one fresh document: every client is a pycrdt
replica speaking the y-websocket protocol over a real socket (a minimal WebSocket client, so that
the generator is not the bottleneck), inserts 4 characters at a random place R times a second,
and answers the server's sync step 1 like a stock client. The replicas apply what they received
only once the edits stop, before the convergence check: 200 replicas applying 40,000 updates a
second on the generator's one core would saturate it (a browser applies each update as it comes,
on its own machine); meanwhile each edits its own view, so the edits are all concurrent, a worst
case for merging. Propagation latency is measured by every other client, from just before the
sender writes its update to the moment the kernel received the relayed update (a receive
timestamp: the generator reads 200 sockets on one core and may get to one late; its longest step
is reported); the update's clock range identifies it. Then: relayed messages/s received by all
clients, server CPU (share of one core) and RSS, and convergence (every replica identical once
the edits stop). Our server commits every update to its SQLite update log before relaying it;
pycrdt-websocket keeps nothing (no store configured).

Many documents (``--manydocs 30,100,300,1000``): N fresh documents with 3 clients each, every
client 1 update/s; latency is measured at the two other clients of the same document, convergence
per document. What a département-wide service sees: hundreds of PPAs open at once, each with a few
people, where the single-document scenarios make large group commits. Memory: the server's RSS
growth once every document has one idle client (per room, minus a client) and once the two
others joined (per client).

Late joiner: ten writers build a document of 100,000 updates (4 characters each, at random places
of their own text, so the document keeps 100,000 separate items); a new client then
connects right after one more edit (committed and relayed), waits for the server's sync step 1
(our server sends it once the token is checked, the connection audited and joined to the room),
and sends its own: time from that request to receiving the whole document (the sync step 2 and
any update sent after it, until the joiner has every writer's last edit) and to having applied
it (pycrdt, in the generator), and the whole join from opening the TCP connection; the first
join is reported apart from the median (a server may encode the document then). Memory: the
server's RSS before that document exists, while loaded, and once every client left and the room
was unloaded (ours: the log says so; its editing session then ends with a version checkpoint,
which is in the figure).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import heapq
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvloop

from collab_bench.servers import (
    PEER_SERVER,
    NodeYWebsocket,
    Ours,
    Peer,
    Server,
    cpu_seconds,
    free_port,
    node_server,
    peer_python,
)
from collab_bench.wire import BenchClient, Run
from editor.collab.protocol import decode_state_vector

REPO = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------------------------
# Scenarios


@dataclass
class ScenarioResult:
    """The figures of one scenario on one server."""

    server: str
    clients: int
    """Per document."""
    rate: float
    sent: int
    expected: int
    latencies: list[float]
    relayed_per_s: float
    cpu: float
    rss: float
    converged: bool
    drain_s: float
    generator_cpu: float
    generator_step: float
    """The longest the generator's loop was held by an edit or an apply slice (seconds): how
    late an arrival time can be read because of the generator's own work."""
    documents: int = 1
    rss_idle_room: float = 0.0
    """KiB per open room with one idle connection (``manydocs`` only), minus a connection."""
    rss_client: float = 0.0
    """KiB per further idle connection (``manydocs`` only)."""
    load: str = ""
    """The machine's load average (1, 5, 15 min) when the scenario ended."""
    seconds: float = 0.0
    """The measured window."""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def connect_all(
    server: Server, document: str, clients: list[BenchClient], first: int = 0
) -> None:
    # One client first: pycrdt-websocket 0.16.5 never syncs clients that join a new room at the
    # same moment as the first one (our server has a test for exactly that).
    indexed = list(enumerate(clients, start=first))
    batches = [indexed[:1]] + [indexed[i : i + 25] for i in range(1, len(indexed), 25)]
    for batch in batches:
        await asyncio.gather(*(c.connect(*server.endpoint(document, index)) for index, c in batch))
        await asyncio.gather(*(asyncio.wait_for(c.synced.wait(), 60) for _, c in batch))


async def connect_documents(
    server: Server, run: Run, n: int, documents: int
) -> tuple[list[list[BenchClient]], float, float]:
    """``documents`` fresh documents with ``n`` clients each; returns them and the server's RSS
    growth (KiB) per document with its first client, and per further client."""
    names = [server.new_document() for _ in range(documents)]
    groups = [[BenchClient(run, d * n + i) for i in range(n)] for d in range(documents)]
    await asyncio.sleep(1.0)
    before = server.rss()
    for start in range(0, documents, 50):
        await asyncio.gather(
            *(
                connect_all(server, names[d], groups[d][:1])
                for d in range(start, start + 50)[: documents - start]
            )
        )
    await asyncio.sleep(1.0)
    one = server.rss()
    for start in range(0, documents, 50):
        await asyncio.gather(
            *(
                connect_all(server, names[d], groups[d][1:], first=1)
                for d in range(start, start + 50)[: documents - start]
            )
        )
    await asyncio.sleep(1.0)
    every = server.rss()
    per_room = (one - before) * 1024 / documents
    per_client = (every - one) * 1024 / (documents * (n - 1)) if n > 1 else 0.0
    return groups, per_room - per_client, per_client


async def scenario(  # noqa: PLR0915 - one measured run, timed step after step
    server: Server, n: int, rate: float, seconds: float, warmup: float, documents: int = 1
) -> ScenarioResult:
    run = Run()
    if documents == 1:
        clients = [BenchClient(run, seed) for seed in range(n)]
        await connect_all(server, server.new_document(), clients)
        groups, per_room, per_client = [clients], 0.0, 0.0
    else:
        groups, per_room, per_client = await connect_documents(server, run, n, documents)
        clients = [c for group in groups for c in group]
    await asyncio.sleep(0.5)
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    interval = 1.0 / rate
    queue = [(start + random.random() * interval, i) for i in range(len(clients))]
    heapq.heapify(queue)
    window_start = time.perf_counter() + 0.1 + warmup
    run.window = (window_start, window_start + seconds)
    cpu_start: float | None = None
    own_start: float | None = None
    end = start + warmup + seconds
    steps: list[float] = []
    while queue[0][0] < end:
        at, index = heapq.heappop(queue)
        delay = at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if cpu_start is None and time.perf_counter() >= window_start:
            cpu_start = server.cpu()
            own_start = cpu_seconds(os.getpid())
            steps.clear()
        began = time.perf_counter()
        clients[index].edit()
        steps.append(time.perf_counter() - began)
        heapq.heappush(queue, (at + interval, index))
    cpu = (server.cpu() - (cpu_start or 0.0)) / seconds
    generator_cpu = (cpu_seconds(os.getpid()) - (own_start or 0.0)) / seconds
    generator_step = max(steps, default=0.0)
    rss = server.rss()
    sent = sum(1 for log in run.sent.values() for _, t in log if run.window[0] <= t < run.window[1])
    final = {cid: log[-1][0] for cid, log in run.sent.items()}
    drain_started = time.perf_counter()
    await asyncio.sleep(0.5)  # the last edits arrive before parsing blocks this loop
    deadline = drain_started + 60
    while time.perf_counter() < deadline:
        for client in clients:
            client.scan()
        if all(
            c.seen.get(other.id, 0) >= final.get(other.id, 0)
            for group in groups
            for c in group
            for other in group
            if other is not c
        ):
            break
        await asyncio.sleep(0.05)
    drain = time.perf_counter() - drain_started
    for client in clients:
        client.apply_pending()
    converged = all(
        len({tuple(sorted(decode_state_vector(c.doc.get_state()).items())) for c in group}) == 1
        and len({str(c.text) for c in group}) == 1
        for group in groups
    )
    for client in clients:
        client.close()
    await asyncio.sleep(0.5)
    return ScenarioResult(
        server.name,
        n,
        rate,
        sent,
        sent * (n - 1),
        run.latencies,
        run.relayed / seconds,
        cpu,
        rss,
        converged,
        drain,
        generator_cpu,
        generator_step,
        documents,
        per_room,
        per_client,
        " ".join(f"{x:.1f}" for x in os.getloadavg()),
        seconds,
    )


@dataclass
class LateJoinResult:
    """The late joiner's figures on one server."""

    server: str
    updates: int
    build_s: float
    built: bool
    """The observer received every update within :data:`BUILD_LIMIT`."""
    step2_kib: float
    receive_ms: list[float]
    applied_ms: list[float]
    connect_ms: list[float]
    rss_before: float
    rss_loaded: float
    rss_unloaded: float


BUILD_LIMIT = 300.0
"""Seconds the observer may wait for every update of the late joiner's document (pycrdt-websocket
0.16.5 never relayed all 100,000 to it in our runs)."""


# One measured scenario, timed step after step: splitting it would scatter the timers.
async def late_joiner(server: Server, updates: int, joiners: int) -> LateJoinResult:  # noqa: PLR0915
    rss_before = server.rss()
    run = Run()
    document = server.new_document()
    writers = [BenchClient(run, 1000 + i) for i in range(10)]
    observer = BenchClient(run, 2000)
    await connect_all(server, document, [*writers, observer])
    started = time.perf_counter()
    per_writer = updates // len(writers)

    async def write(writer: BenchClient) -> None:
        assert writer.protocol is not None
        for i in range(per_writer):
            writer.edit()
            if i % 200 == 0:
                await writer.protocol.writable.wait()
                await asyncio.sleep(0)

    await asyncio.gather(*(write(w) for w in writers))
    final = {w.id: run.sent[w.id][-1][0] for w in writers}
    deadline = time.perf_counter() + BUILD_LIMIT
    built = False
    while not built and time.perf_counter() < deadline:
        observer.scan()
        built = all(observer.seen.get(cid, 0) >= clock for cid, clock in final.items())
        if not built:
            await asyncio.sleep(0.05)
    build = time.perf_counter() - started
    await asyncio.sleep(1.0)
    receive: list[float] = []
    applied: list[float] = []
    connect: list[float] = []
    size = 0.0
    for turn in range(joiners):
        # Every joiner comes right after an edit (committed and relayed: the observer has it),
        # so that a server caching the encoded document cannot serve it unchanged.
        writer = writers[turn % len(writers)]
        writer.edit()
        final[writer.id] = run.sent[writer.id][-1][0]
        while observer.seen.get(writer.id, 0) < final[writer.id]:
            await asyncio.sleep(0.01)
            observer.scan()
        # The joiner asks for the document once the server is ready (its sync step 1 arrived:
        # the connection is authorised and in the room), so that the sync itself is timed
        # apart from connecting (TCP, WebSocket handshake, our authorisation and audit).
        joiner = BenchClient(Run(), 3000)
        began = time.perf_counter()
        await joiner.connect(server.host, server.port, server.path(document), step1=False)
        await asyncio.wait_for(joiner.ready.wait(), 60)
        requested = joiner.request_document()
        await asyncio.wait_for(joiner.synced.wait(), 120)
        # A server may send the document as a sync step 2 and then updates: the document is
        # received once the joiner has every writer's last edit.
        complete = joiner.step2_at
        while any(joiner.seen.get(cid, 0) < clock for cid, clock in final.items()):
            if time.perf_counter() - requested > 120:
                raise RuntimeError("the late joiner never got the whole document")
            await asyncio.sleep(0.001)
            joiner.scan()
        if joiner.received:
            complete = max(complete, joiner.received[-1][0])
            joiner.apply_pending()
        done = time.perf_counter()
        receive.append((complete - requested) * 1000)
        applied.append((done - requested) * 1000)
        connect.append((done - began) * 1000)
        size = joiner.step2_size / 1024
        assert len(joiner.text) > 0
        joiner.close()
        await asyncio.sleep(0.2)
    rss_loaded = server.rss()
    for client in [*writers, observer]:
        client.close()
    await server.unloaded(document)
    await asyncio.sleep(2.0)
    rss_unloaded = server.rss()
    return LateJoinResult(
        server.name,
        updates,
        build,
        built,
        size,
        receive,
        applied,
        connect,
        rss_before,
        rss_loaded,
        rss_unloaded,
    )


# --------------------------------------------------------------------------------------------
# Report


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def cpu_per_delivery(r: ScenarioResult) -> float:
    """Server CPU microseconds per delivery: per update received by another editor of the
    same document (node y-websocket also echoes each update to its sender: not counted)."""
    return r.cpu * r.seconds / r.expected * 1e6 if r.expected else float("nan")


def versus(scenarios: list[ScenarioResult]) -> str:
    """Each server's p99 and CPU per delivery against node y-websocket's in the same run (the
    issue's acceptance: p99 within 2x, CPU per delivery within 1.5x, no delivery behind)."""
    lines = [
        "| [documents x] clients x updates/s | server | p99 / node's | CPU per delivery / "
        "node's | every delivery received | kept up |",
        "|---|---|---|---|---|---|",
    ]
    for base in scenarios:
        if base.server != NodeYWebsocket.name:
            continue
        for r in scenarios:
            same = (r.documents, r.clients, r.rate) == (base.documents, base.clients, base.rate)
            if not same or r is base:
                continue
            label = f"{r.clients}x{r.rate:g}"
            if r.documents > 1:
                label = f"{r.documents} x {label}"
            p99 = percentile(r.latencies, 0.99) / percentile(base.latencies, 0.99)
            cpu = cpu_per_delivery(r) / cpu_per_delivery(base)
            every = "yes" if len(r.latencies) >= r.expected else f"no ({len(r.latencies)})"
            # Relayed in the window against what was sent in it (node adds its echoes): a
            # server that fell behind did its work after the window, so its CPU per delivery
            # is not measured.
            kept = r.relayed_per_s * r.seconds >= 0.95 * r.expected
            lines.append(
                f"| {label} | {r.server} | {p99:.2f}x | {cpu:.2f}x | {every} | "
                f"{'yes' if kept else 'no: CPU per delivery not measured'} |"
            )
    return "\n".join(lines) if len(lines) > 2 else ""


def report(scenarios: list[ScenarioResult], late: list[LateJoinResult]) -> str:
    lines = [
        "| [documents x] clients x updates/s | server | p50 | p95 | p99 | max (ms) | received | "
        "relayed msg/s | server CPU | CPU µs per delivery | server RSS | converged | "
        "generator CPU, longest step | KiB per idle room / client | load average |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in scenarios:
        label = f"{r.clients}x{r.rate:g}"
        if r.documents > 1:
            label = f"{r.documents} x {label}"
        memory = f"{r.rss_idle_room:.0f} / {r.rss_client:.0f}" if r.documents > 1 else "-"
        lines.append(
            f"| {label} | {r.server} | {ms(percentile(r.latencies, 0.5))} | "
            f"{ms(percentile(r.latencies, 0.95))} | {ms(percentile(r.latencies, 0.99))} | "
            f"{ms(max(r.latencies, default=float('nan')))} | "
            f"{len(r.latencies)}/{r.expected} | {r.relayed_per_s:,.0f} | {r.cpu:.0%} | "
            f"{cpu_per_delivery(r):.1f} | {r.rss:.0f} MiB | "
            f"{'yes' if r.converged else 'no'} | {r.generator_cpu:.0%}, "
            f"{ms(r.generator_step)} ms | {memory} | {r.load} |"
        )
    lines += [
        "",
        "| late joiner (first / median, each right after an edit) | server | document | "
        "document received | applied | with connection | RSS before / loaded / unloaded |",
        "|---|---|---|---|---|---|---|",
    ]
    for j in late:
        lines.append(
            f"| {j.updates:,} updates | {j.server} | {j.step2_kib:.0f} KiB, "
            f"{'built in' if j.built else 'observer still missing updates after'} "
            f"{j.build_s:.0f} s | {j.receive_ms[0]:.1f} / {statistics.median(j.receive_ms):.1f} ms"
            f" | {j.applied_ms[0]:.1f} / {statistics.median(j.applied_ms):.1f} ms | "
            f"{j.connect_ms[0]:.1f} / {statistics.median(j.connect_ms):.1f} ms "
            f"| {j.rss_before:.0f} / {j.rss_loaded:.0f} / {j.rss_unloaded:.0f} MiB |"
        )
    return "\n".join(lines)


async def many_documents(servers: list[Server], args: argparse.Namespace) -> list[ScenarioResult]:
    """The ``manydocs`` scenario: N documents x 3 clients x 1 update/s, N from ``--manydocs``."""
    results: list[ScenarioResult] = []
    for documents in filter(None, args.manydocs.split(",")):
        for server in servers:
            if not server.running():
                print(f"{server.name} is not running: {documents} x 3x1 skipped", flush=True)
                continue
            try:
                result = await scenario(
                    server, 3, 1.0, args.seconds, args.warmup, documents=int(documents)
                )
            except Exception as error:  # e.g. the server stopped accepting connections
                # or answering (the rows measured so far are kept)
                print(f"{server.name}: {documents} x 3x1 failed: {error!r}", flush=True)
                continue
            results.append(result)
            print(report([result], []).splitlines()[2], flush=True)
    return results


def start_servers(args: argparse.Namespace, work: Path, servers: list[Server]) -> None:
    """Start the servers of ``--servers`` into ``servers`` (those started are stopped even if a
    later one fails to start)."""
    if "ours" in args.servers:
        for processes in map(int, args.ours_processes.split(",")):
            servers.append(
                Ours(
                    free_port(),
                    work / f"data-{processes}",
                    work / f"ours-{processes}.log",
                    processes=processes,
                    redis_url=args.redis_url,
                    cpus=args.server_cpus,
                    spread=args.spread,
                )
            )
    if "peer" in args.servers:
        script = work / "peer_server.py"
        script.write_text(PEER_SERVER)
        python = peer_python(Path(args.peer_venv))
        servers.append(Peer(free_port(), python, script, work / "peer.log"))
    if "node" in args.servers:
        servers.append(NodeYWebsocket(free_port(), node_server(), work / "node.log"))


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-collab-"))
    servers: list[Server] = []
    scenarios: list[ScenarioResult] = []
    late: list[LateJoinResult] = []
    try:
        start_servers(args, work, servers)
        gc.collect()
        gc.freeze()
        gc.disable()  # a full collection over the received messages would stall the measure
        for spec in filter(None, args.scenarios.split(",")):
            n, rate = spec.split("x")
            for server in servers:
                result = await scenario(server, int(n), float(rate), args.seconds, args.warmup)
                scenarios.append(result)
                print(report([result], []).splitlines()[2], flush=True)
        scenarios += await many_documents(servers, args)
        if args.late_updates:
            for server in servers:
                kind = {Ours: "ours", Peer: "peer"}.get(type(server), "node")
                if kind not in args.late_servers:
                    continue
                result_late = await late_joiner(server, args.late_updates, args.joiners)
                late.append(result_late)
                print(report([], [result_late]).splitlines()[-1], flush=True)
    finally:
        for server in servers:
            server.stop()
    print()
    print(report(scenarios, late))
    comparison = versus(scenarios)
    if comparison:
        print()
        print(comparison)
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"logs and data kept in {work}")
    return {"scenarios": [vars(r) for r in scenarios], "late_joiner": [vars(j) for j in late]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="10x20,50x5,200x1")
    parser.add_argument(
        "--manydocs",
        default="30,100,300,1000",
        help="documents of the many-documents scenario (3 clients each, 1 update/s each)",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--late-updates", type=int, default=100_000)
    parser.add_argument("--joiners", type=int, default=5)
    parser.add_argument(
        "--late-servers",
        default="ours,peer,node",
        help="servers of the late-joiner test (pycrdt-websocket takes about 10 minutes)",
    )
    parser.add_argument(
        "--servers",
        default="ours,peer,node",
        help="ours (ppa serve), peer (pycrdt-websocket), node (node y-websocket 1.5.4)",
    )
    parser.add_argument(
        "--ours-processes",
        default="1",
        help="ppa serve processes, one server per number (e.g. 1,2; more than 1 needs Redis)",
    )
    parser.add_argument("--redis-url", default="", help="PPA_REDIS_URL of our processes")
    parser.add_argument(
        "--server-cpus",
        default="1",
        help="cores our processes are pinned to, in turn (e.g. 1 or 1,2,3)",
    )
    parser.add_argument(
        "--spread",
        default="clients",
        choices=["clients", "rooms"],
        help="several processes: each client of a document on the next one, or a document's "
        "clients all on one",
    )
    parser.add_argument("--peer-venv", default="/tmp/pycrdt-ws-venv")  # noqa: S108 - a cache dir
    parser.add_argument("--json", default="")
    parser.add_argument("--keep", action="store_true", help="keep the data and server logs")
    parser.add_argument("--no-pin", action="store_true", help="do not pin the generator")
    arguments = parser.parse_args()
    if not arguments.no_pin:
        os.sched_setaffinity(0, {0})
    results = uvloop.run(main(arguments))
    if arguments.json:
        Path(arguments.json).write_text(json.dumps(results, indent=1))
