"""A cluster of training workers on this machine: free ports on 127.0.0.1 and one TF_CONFIG per worker.

`ckptlint verify --workers N -- COMMAND` starts N copies of the command, each with the `TF_CONFIG` a
scheduler would give it (every worker of the cluster at 127.0.0.1:<port>, and its own task index), so
`tf.distribute.MultiWorkerMirroredStrategy` and `PreemptionCheckpointHandler` run for real, between real
processes, over loopback only. Worker 0 is the chief (TF's convention when the cluster has no "chief"
job). `{worker}` in an argument becomes the worker's index; `{out}` stays the trial's one directory,
shared by every worker as a cluster's shared file system is, so each program decides which worker
writes where (as TF's multi-worker tutorials do: the chief writes the real directory, the others a
scratch one).
"""

from __future__ import annotations

import contextlib
import json
import socket
from dataclasses import dataclass

HOST = "127.0.0.1"
WORKER = "{worker}"


@dataclass(frozen=True)
class Cluster:
    ports: tuple[int, ...]

    @property
    def size(self) -> int:
        return len(self.ports)

    @property
    def addresses(self) -> list[str]:
        return [f"{HOST}:{port}" for port in self.ports]

    def tf_config(self, index: int) -> str:
        return json.dumps({"cluster": {"worker": self.addresses}, "task": {"type": "worker", "index": index}})

    def environment(self, index: int) -> dict[str, str]:
        return {"TF_CONFIG": self.tf_config(index)}


def free_ports(count: int) -> tuple[int, ...]:
    """`count` distinct ports that nothing on 127.0.0.1 listens on now (held together while chosen, so
    they differ; released before the workers bind them)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
    return tuple(ports)


def new_cluster(size: int) -> Cluster:
    return Cluster(free_ports(size))


def ports_free(ports: tuple[int, ...] | list[int]) -> list[int]:
    """The ports among `ports` that can be bound again on 127.0.0.1 (a port still held is missing)."""
    free = []
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
            free.append(port)
    return free


def for_worker(argv: list[str], index: int) -> list[str]:
    return [arg.replace(WORKER, str(index)) for arg in argv]


def port_clash(stderr_text: str) -> bool:
    """The worker could not bind its port: another process took it between choice and start."""
    return "Could not start gRPC server" in stderr_text or "Address already in use" in stderr_text
