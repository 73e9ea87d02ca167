"""What the two-worker tests check of a cluster report, shared by the command and the factory tests."""

from __future__ import annotations

import socket

from tests.harness.blackbox.blackbox_helpers import causes


def worker_verdicts(report: dict) -> list[str]:
    return [w["verdict"] for w in report["blackbox"]["workers"]]


def assert_bounded_to_loopback(report: dict) -> None:
    """Every connection a worker made stayed on 127.0.0.1, and no process listens on a cluster port any
    more (SO_REUSEADDR: the closed connections' TIME_WAIT entries may outlive the workers, listeners not)."""
    for trial in report["blackbox"]["cluster"]["trials"].values():
        assert all(address.startswith("127.0.0.1:") for address in trial["remote_addresses"]), trial
        for port in trial["ports"]:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("127.0.0.1", port))
                sock.listen()


def assert_only_the_optimizer_lost_on_both_workers(report: dict) -> None:
    """Both workers fail; on each, the optimizer's slots and iterations are lost while the model and the
    step counter are restored, and the one cause names both workers."""
    assert worker_verdicts(report) == ["fail", "fail"]
    for worker in report["blackbox"]["workers"]:
        status = {c["name"]: c["status"] for c in worker["components"]}
        assert status["optimizer slots[adam]"] == "lost" and status["optimizer iterations[adam]"] == "lost"
        assert status["model weights"] == "restored" and status["state[step]"] == "restored"
    assert causes(report) == ["components"]
    message = report["blackbox"]["causes"][0]["message"]
    assert message.startswith("workers 0, 1: ") and "optimizer slots[adam]" in message
