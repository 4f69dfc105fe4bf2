"""The simulated year's mail server (docs/simulation.md §2): aiosmtpd in a process of its own,
as a real mail server is, so that its work does not wait for the interpreter lock of the
process that sends (and that process does not wait for it between two SMTP replies).

It records (Message-ID, recipient, simulated time, subject) per message delivered and answers
451 while told to refuse. The simulated time and the refusal are shared memory the simulation
writes before it sends; the records come back when the sink stops.
"""
import email.parser
import multiprocessing
import socket
from datetime import UTC, datetime

READY_SECONDS = 30


class _Handler:
    def __init__(self, clock, refusing, refused, delivered):
        self.clock, self.refusing, self.refused, self.delivered = clock, refusing, refused, delivered
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        if self.refusing.value:
            self.refused.value += 1  # only this process writes it
            return "451 4.3.0 Mail server busy, try again later"
        headers = email.parser.BytesHeaderParser().parsebytes(envelope.original_content or envelope.content)
        at = self.clock.value
        for rcpt in envelope.rcpt_tos:
            self.received.append((headers["Message-ID"], rcpt, at, headers["Subject"]))
        self.delivered.value = len(self.received)
        return "250 OK"


def _serve(port, clock, refusing, refused, delivered, control):
    from aiosmtpd.controller import Controller

    handler = _Handler(clock, refusing, refused, delivered)
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    control.send("ready")
    try:
        control.recv()  # "stop", or the simulation went away (EOFError)
    except EOFError:
        pass
    finally:
        controller.stop()
    control.send(handler.received)


class Sink:
    """The sink seen from the simulation: ``now`` (set it before sending), ``refusing``,
    ``refused`` and ``delivered`` while it runs; ``received`` (with aware UTC times) once
    stopped."""

    def __init__(self):
        self._ctx = multiprocessing.get_context("spawn")  # nothing of this process's state
        self._clock = self._ctx.RawValue("d", 0.0)
        self._refusing = self._ctx.RawValue("b", 0)
        self._refused = self._ctx.RawValue("i", 0)
        self._delivered = self._ctx.RawValue("i", 0)
        self._process = self._control = None
        self.received = []

    @property
    def now(self):
        return datetime.fromtimestamp(self._clock.value, UTC)

    @now.setter
    def now(self, instant):
        self._clock.value = instant.timestamp()

    @property
    def refusing(self):
        return bool(self._refusing.value)

    @refusing.setter
    def refusing(self, value):
        self._refusing.value = int(bool(value))

    @property
    def refused(self):
        return self._refused.value

    @property
    def delivered(self):
        return self._delivered.value

    def start(self):
        # aiosmtpd connects to its own port to see it is up, so it needs the number up front.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self._control, theirs = self._ctx.Pipe()
        self._process = self._ctx.Process(
            target=_serve, name="smtp-sink", daemon=True,
            args=(port, self._clock, self._refusing, self._refused, self._delivered, theirs))
        self._process.start()
        theirs.close()
        if not self._control.poll(READY_SECONDS) or self._control.recv() != "ready":
            self._process.kill()
            raise RuntimeError("the SMTP sink did not start")
        return port

    def stop(self):
        self._control.send("stop")
        rows = self._control.recv()
        self._process.join(READY_SECONDS)
        self._control.close()
        # Whole seconds and microseconds survive the float: the simulated clock has no finer steps.
        self.received = [(mid, rcpt, datetime.fromtimestamp(at, UTC), subject) for mid, rcpt, at, subject in rows]
