"""Reading a child process's output line by line, with a guard; shared by the Python checks."""
import queue
import threading

GUARD = 30  # seconds: a guard against a hung child, never a synchronisation delay


def line_reader(stream):
    """A queue of the stream's lines (None at EOF), filled by a daemon thread."""
    q = queue.Queue()

    def pump():
        for line in iter(stream.readline, ""):
            q.put(line)
        q.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return q


def next_line(q, what, error=RuntimeError):
    """The next line, or `error` naming `what` when none comes within GUARD or the output closed."""
    try:
        line = q.get(timeout=GUARD)
    except queue.Empty:
        raise error(f"no answer to {what} within {GUARD}s")
    if line is None:
        raise error(f"the server closed its output before answering {what}")
    return line
