"""A single-node SLURM cluster with job accounting, started in a temporary folder for the tests.

munged (as the `munge` user), a MariaDB server for slurmdbd, slurmdbd, slurmctld and slurmd run
in the background and are stopped (by PID) when the cluster is closed. Only the link
/etc/slurm/slurm.conf is written outside the folder: the executor plugin clears every SLURM_*
variable (SLURM_CONF too) before it starts a job's step, so the step finds its cluster only at the
default path. Facts behind each choice: ../shared/notes/slurm.md.

`why_not()` says why no cluster can be started here (not root, a missing program, a SLURM
already configured on the machine); the test is skipped with that reason.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
LOCK = "/run/nnreport-test-slurm.lock"  # held while a test cluster runs
MUNGE_SOCKET = Path("/run/munge/munge.socket.2")
PROGRAMS = ("runuser", "munged", "munge", "unmunge", "mungekey", "mariadbd", "mariadb-install-db",
            "mariadb", "slurmdbd", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "sacct",
            "sinfo", "sacctmgr", "scancel")
CLUSTER = "nnreport"
ACCOUNT = "nnreport"
PARTITION = "main"  # the default partition
OTHER_PARTITION = "train"  # the same node again: where a profile may send the training jobs


def program(name: str) -> str | None:
    """The path of a program, also in the sbin folders that a non-login PATH may lack."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin:/usr/local/sbin")


def why_not() -> str | None:
    """Why a single-node SLURM cannot be started here, or None when it can."""
    missing = [p for p in PROGRAMS if program(p) is None]
    if missing:
        return (f"SLURM's programs are missing ({', '.join(missing)}): `make test` as root "
                "installs them (workflow/setup/debian-packages-test.txt)")
    if (os.cpu_count() or 1) < 2:
        return "the test gives training jobs 2 CPUs: this machine has 1"
    if os.geteuid() != 0:
        return "starting munged, slurmd and a MariaDB server for SLURM's accounting needs root"
    if SLURM_CONF.exists() and not SLURM_CONF.is_symlink():
        return f"{SLURM_CONF} exists: this machine has a SLURM of its own, left untouched"
    lock = take_lock()
    if lock is None:
        return f"another test cluster runs on this machine ({LOCK} is locked)"
    os.close(lock)
    for user in ("munge", "mysql"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            return f"no `{user}` user (the munge and mariadb-server packages create it)"
    return None


def take_lock() -> int | None:
    """LOCK's descriptor, locked by this process, or None when another test cluster holds it
    (closing the descriptor releases it)."""
    fd = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def free_port(taken: set[int]) -> int:
    """A TCP port that nothing listens on now and that is not in `taken` (then it is)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in taken:
            taken.add(port)
            return port


def wait_for(what: str, ready, timeout: float, log: Path | None = None) -> None:
    """Poll `ready()` until it is true; fail naming `what` (and the end of its log)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            return
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
    raise RuntimeError(f"{what} not ready after {timeout:.0f} s\n{tail}")


def die_with_parent() -> None:
    """In a daemon's process before it starts: SIGTERM when the process that started it dies
    (pytest killed by a time-out), so no daemon outlives the tests (Linux's PR_SET_PDEATHSIG)."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def munge_answers() -> bool:
    """Does a munged answer (a credential made and read back)?"""
    try:
        return subprocess.run("munge -n | unmunge", shell=True, capture_output=True,
                              timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def listening(port: int) -> bool:
    """Does something accept connections on 127.0.0.1:port?"""
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


class LocalSlurm:
    """A single-node SLURM cluster on this machine; use as a context manager."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="nnreport-slurm-"))
        self.dir.chmod(0o755)  # the munge and mysql users must reach their folders
        self.conf = self.dir / "slurm.conf"
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.linked = False
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self.ports: set[int] = set()
        self.lock: int | None = None
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1

    # -- the daemons ---------------------------------------------------------------------------
    def start(self, name: str, cmd: list[str], user: str | None = None) -> None:
        """Start a daemon in the foreground mode of its own (-D, -F) with its log in the folder."""
        if user:
            cmd = ["runuser", "-u", user, "--", *cmd]
        log = (self.dir / f"{name}.out").open("w")
        self.processes.append((name, subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True,
            preexec_fn=die_with_parent)))

    def check_running(self) -> None:
        """Fail naming the daemon that exited, with the end of its log."""
        for name, process in self.processes:
            if process.poll() is not None:
                out = (self.dir / f"{name}.out").read_text(errors="replace")[-2000:]
                log = self.dir / f"{name}.log"
                more = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                raise RuntimeError(f"{name} exited with {process.returncode}\n{out}\n{more}")

    def run(self, *cmd: str, timeout: float = 60) -> str:
        """Run a command against this cluster; return its output, or fail with it."""
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n"
                               f"{proc.stdout}{proc.stderr}")
        return proc.stdout

    def start_munge(self) -> None:
        """munged as `munge` with the package's key, unless one answers already."""
        if munge_answers():
            return
        munge = pwd.getpwnam("munge")
        run_dir = MUNGE_SOCKET.parent
        run_dir.mkdir(parents=True, exist_ok=True)
        os.chown(run_dir, munge.pw_uid, munge.pw_gid)
        key = Path("/etc/munge/munge.key")
        if not key.exists():  # the package makes one; make it where a machine lost it
            subprocess.run(["runuser", "-u", "munge", "--", "mungekey", "--create"], check=True)
        self.start("munged", [program("munged"), "-F"], user="munge")
        wait_for("munged", munge_answers, 20)

    def start_database(self) -> None:
        """MariaDB in the folder, on a free port of 127.0.0.1, with a user for slurmdbd."""
        mysql = pwd.getpwnam("mysql")
        data = self.dir / "mariadb"
        data.mkdir()
        os.chown(data, mysql.pw_uid, mysql.pw_gid)
        self.db_socket = self.dir / "mariadb" / "mariadb.sock"
        self.db_port = free_port(self.ports)
        subprocess.run([program("mariadb-install-db"), "--no-defaults", f"--datadir={data}",
                        "--user=mysql", "--skip-test-db"],
                       check=True, capture_output=True, timeout=120)
        # as `mysql` through runuser (not --user=mysql: a process that changes its user loses
        # the signal it should get when the tests die)
        self.start("mariadbd", [program("mariadbd"), "--no-defaults", f"--datadir={data}",
                                f"--socket={self.db_socket}", f"--port={self.db_port}",
                                "--bind-address=127.0.0.1", f"--pid-file={data / 'mariadbd.pid'}",
                                "--innodb-buffer-pool-size=64M"], user="mysql")
        wait_for("MariaDB", lambda: self.check_running() or self.db_socket.exists(), 60,
                 self.dir / "mariadbd.out")
        self.db_password = os.urandom(8).hex()
        sql = "".join(f"CREATE USER 'slurm'@'{host}' IDENTIFIED BY '{self.db_password}'; "
                      f"GRANT ALL ON slurm_acct_db.* TO 'slurm'@'{host}'; "
                      for host in ("localhost", "127.0.0.1"))
        self.run(program("mariadb"), f"--socket={self.db_socket}", "-u", "root", "-e", sql)

    def write_configs(self) -> None:
        """slurm.conf and slurmdbd.conf (mode 600: slurmdbd refuses a readable one)."""
        self.dbd_port = free_port(self.ports)
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
        state = self.dir / "state"
        state.mkdir()
        (self.dir / "spool").mkdir()
        self.conf.write_text(f"""\
ClusterName={CLUSTER}
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={free_port(self.ports)}
SlurmdPort={free_port(self.ports)}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation={state}
SlurmdSpoolDir={self.dir / 'spool'}
SlurmctldPidFile={self.dir / 'slurmctld.pid'}
SlurmdPidFile={self.dir / 'slurmd.pid'}
SlurmctldLogFile={self.dir / 'slurmctld.log'}
SlurmdLogFile={self.dir / 'slurmd.log'}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1000
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort={self.dbd_port}
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=1
AccountingStoreFlags=job_comment
MinJobAge=300
ReturnToService=2
SchedulerParameters=sched_interval=2
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={memory * 3 // 4} State=UNKNOWN
PartitionName={PARTITION} Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName={OTHER_PARTITION} Nodes=ALL Default=NO MaxTime=INFINITE State=UP
""")
        dbd = self.dir / "slurmdbd.conf"  # read from the folder of the slurm.conf in use
        dbd.write_text(f"""\
AuthType=auth/munge
DbdHost=localhost
DbdPort={self.dbd_port}
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort={self.db_port}
StorageUser=slurm
StoragePass={self.db_password}
StorageLoc=slurm_acct_db
PidFile={self.dir / 'slurmdbd.pid'}
LogFile={self.dir / 'slurmdbd.log'}
""")
        dbd.chmod(0o600)

    def __enter__(self) -> LocalSlurm:
        # one test cluster on a machine at a time: another one's munged or link would be ours
        self.lock = take_lock()
        if self.lock is None:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise RuntimeError(f"another test cluster runs on this machine ({LOCK} is locked)")
        try:
            self.start_munge()
            self.start_database()
            self.write_configs()
            SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
            if SLURM_CONF.is_symlink():  # left by a killed run: ours hold the lock
                SLURM_CONF.unlink()
            SLURM_CONF.symlink_to(self.conf)
            self.linked = True
            self.start("slurmdbd", [program("slurmdbd"), "-D"])
            wait_for("slurmdbd", lambda: self.check_running() or listening(self.dbd_port), 60,
                     self.dir / "slurmdbd.log")
            self.run(program("sacctmgr"), "-i", "add", "cluster", CLUSTER)
            self.run(program("sacctmgr"), "-i", "add", "account", ACCOUNT, f"cluster={CLUSTER}",
                     "Description=tests", "Organization=nnreport")
            self.run(program("sacctmgr"), "-i", "add", "user", pwd.getpwuid(os.getuid()).pw_name,
                     f"account={ACCOUNT}", f"cluster={CLUSTER}")
            self.start("slurmctld", [program("slurmctld"), "-D", "-i"])
            self.start("slurmd", [program("slurmd"), "-D", "-N", self.node])
            wait_for("the node", self.node_idle, 60, self.dir / "slurmctld.log")
        except BaseException:
            self.close()
            raise
        return self

    def node_idle(self) -> bool:
        """Is the node up and idle (so a job starts on it)?"""
        self.check_running()
        out = self.query(program("sinfo"), "-h", "-N", "-o", "%T")
        return out is not None and set(out.split()) == {"idle"}

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Cancel the jobs still there, stop every daemon started here (newest first), remove
        the link and the folder."""
        if any(name == "slurmctld" and process.poll() is None
               for name, process in self.processes):
            try:  # a job's processes are not in slurmd's process group: scancel ends them
                subprocess.run([program("scancel"), "-u", pwd.getpwuid(os.getuid())[0]],
                               env=self.env, capture_output=True, timeout=30)
                wait_for("the cancelled jobs", self.queue_empty, 60)
            except (subprocess.TimeoutExpired, RuntimeError):
                pass  # stop the daemons all the same
        for _name, process in reversed(self.processes):
            if process.poll() is None:  # its session: runuser and the daemon it started
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        self.processes.clear()
        if self.linked and SLURM_CONF.is_symlink():
            SLURM_CONF.unlink()
        shutil.rmtree(self.dir, ignore_errors=True)
        if self.lock is not None:
            os.close(self.lock)  # releases the lock
            self.lock = None

    def queue_empty(self) -> bool:
        """Has the queue no job left?"""
        out = self.query(program("squeue"), "-h")
        return out is not None and not out.strip()

    def query(self, *cmd: str) -> str | None:
        """A SLURM command's output, or None when it fails or hangs (a probe, polled)."""
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env, timeout=10)
        except subprocess.TimeoutExpired:
            return None
        return proc.stdout if proc.returncode == 0 else None
