#!/usr/bin/python3
# Runs a command under the process restrictions basalt.service sets, for deb.sh's `sandbox`
# scenario: systemd is not PID 1 on the test machines, so the unit cannot be started, but
# these restrictions are plain kernel features that a root process can apply to its child:
#   User=basalt, CapabilityBoundingSet=, AmbientCapabilities=, NoNewPrivileges=yes
#   SystemCallFilter=@system-service ~@privileged @resources, SystemCallErrorNumber=EPERM,
#     SystemCallArchitectures=native (the lists come from `systemd-analyze syscall-filter`,
#     so they are this systemd's own)
#   MemoryDenyWriteExecute=yes (systemd's own seccomp rules: no mmap with PROT_WRITE and
#     PROT_EXEC, no mprotect/pkey_mprotect adding PROT_EXEC, no shmat with SHM_EXEC)
#   RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX (socket() of any other family fails with
#     EAFNOSUPPORT)
# Each is its own seccomp filter, as systemd installs them; the kernel applies the strictest
# answer. The namespace settings (ProtectSystem, PrivateTmp, ...) are not reproduced here.
# Usage (as root): unit-sandbox.py USER COMMAND [ARGS...]; it execs COMMAND.
import ctypes
import errno
import os
import pwd
import subprocess
import sys

import seccomp  # Debian: python3-seccomp (libseccomp's own binding)

PR_CAPBSET_DROP = 24
CAP_LAST_CAP_BOUND = 64
PROT_WRITE, PROT_EXEC = 0x2, 0x4
SHM_EXEC = 0o100000
AF_UNIX, AF_INET, AF_INET6, AF_MAX = 1, 2, 10, 46


def syscall_set(name):
    """The system calls of a systemd set such as @system-service, as systemd lists them."""
    out = subprocess.run(["systemd-analyze", "syscall-filter", name],
                         check=True, capture_output=True, text=True).stdout
    calls = set()
    for line in out.splitlines():
        word = line.strip()
        if not word or word.startswith("#") or word == name:
            continue
        if word.startswith("@"):
            calls |= syscall_set(word)
        else:
            calls.add(word)
    return calls


def add_if_known(filt, action, call, *args):
    try:
        filt.add_rule(action, call, *args)
    except (RuntimeError, ValueError):
        pass  # a name this libseccomp or architecture does not know; systemd skips it too


def syscall_filter():
    allowed = syscall_set("@system-service") - syscall_set("@privileged") - syscall_set("@resources")
    filt = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
    for call in sorted(allowed):
        add_if_known(filt, seccomp.ALLOW, call)
    return filt, len(allowed)


def memory_deny_write_execute():
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    wx = PROT_WRITE | PROT_EXEC
    add_if_known(filt, seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
    for call in ("mprotect", "pkey_mprotect"):
        add_if_known(filt, seccomp.ERRNO(errno.EPERM), call,
                     seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    add_if_known(filt, seccomp.ERRNO(errno.EPERM), "shmat",
                 seccomp.Arg(2, seccomp.MASKED_EQ, SHM_EXEC, SHM_EXEC))
    return filt


def restrict_address_families():
    filt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    for family in range(AF_MAX):
        if family not in (AF_UNIX, AF_INET, AF_INET6):
            filt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
    filt.add_rule(seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.GE, AF_MAX))
    return filt


def main():
    user, command = sys.argv[1], sys.argv[2:]
    entry = pwd.getpwnam(user)
    libc = ctypes.CDLL(None, use_errno=True)
    # CapabilityBoundingSet= (empty): drop every capability from the bounding set.
    for cap in range(CAP_LAST_CAP_BOUND):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    # User=/Group=, no supplementary groups; the permitted and effective sets go with the uid.
    os.setgroups([])
    os.setgid(entry.pw_gid)
    os.setuid(entry.pw_uid)
    # The filters are built before any is loaded (building runs systemd-analyze).
    calls, count = syscall_filter()
    # The allow-list last: seccomp() itself is not in @system-service.
    filters = [memory_deny_write_execute(), restrict_address_families(), calls]
    print(f"unit-sandbox: {count} system calls allowed, W^X memory, AF_UNIX/AF_INET/AF_INET6 only, "
          f"no capabilities, as {user}", file=sys.stderr, flush=True)
    for filt in filters:
        filt.load()  # sets no_new_privs first (NoNewPrivileges=yes)
    os.execv(command[0], command)


if __name__ == "__main__":
    main()
