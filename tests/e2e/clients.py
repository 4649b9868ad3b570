"""Real clients against one decoy service, run INSIDE the attacker namespace:
`python3 clients.py SERVICE IP HOSTNAME` prints what the client saw, one line."""
import ftplib
import imaplib
import poplib
import smtplib
import socket
import ssl
import subprocess
import sys

service, ip, hostname = sys.argv[1], sys.argv[2], sys.argv[3]
TIMEOUT = 10


def run(*cmd: str, env=None) -> str:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=30, env=env)
    return (result.stdout + result.stderr).strip()


def first_line_with(text: str, needle: str) -> str:
    return next((ln.strip() for ln in text.splitlines() if needle in ln), text.strip().splitlines()[-1:] or "")


def ssh() -> str:
    out = run("sshpass", "-p", "Winter2024!", "ssh", "-o", "StrictHostKeyChecking=no", "-o",
              "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=password", "-o",
              "PubkeyAuthentication=no", "-o", "NumberOfPasswordPrompts=1", "-o", "ConnectTimeout=5",
              f"root@{ip}", "id")
    return first_line_with(out, "Permission denied")


def telnet() -> str:
    with socket.create_connection((ip, 23), timeout=TIMEOUT) as s:
        seen = b""
        def until(token: bytes) -> None:
            nonlocal seen
            while token not in seen:
                chunk = s.recv(4096)
                if not chunk:
                    raise EOFError(seen)
                # refuse every option the server asks for, like a dumb client
                out, i = b"", 0
                while (i := chunk.find(b"\xff", i)) != -1 and i + 2 < len(chunk):
                    if chunk[i + 1] in (251, 253):  # WILL/DO -> DONT/WONT
                        out += bytes([255, 254 if chunk[i + 1] == 251 else 252, chunk[i + 2]])
                    i += 3
                if out:
                    s.sendall(out)
                seen += chunk
        until(b"login:")
        s.sendall(b"admin\r\n")
        until(b"Password:")
        s.sendall(b"admin123\r\n")
        until(b"incorrect")
    return "Login incorrect"


def ftp() -> str:
    conn = ftplib.FTP(ip, timeout=TIMEOUT)
    try:
        conn.login("anonymous", "guest@example.com")
        return "logged in (unexpected)"
    except ftplib.error_perm as exc:
        return f"{conn.getwelcome()} / {exc}"


def http() -> str:
    return first_line_with(run("curl", "-sI", "--max-time", "5", f"http://{ip}/"), "Server:")


def https() -> str:
    server = first_line_with(run("curl", "-skI", "--max-time", "5", f"https://{ip}/"), "Server:")
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((ip, 443), timeout=TIMEOUT) as raw, ctx.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    pem = ssl.DER_cert_to_PEM_cert(der)
    subject = subprocess.run(["openssl", "x509", "-noout", "-subject"], input=pem, capture_output=True,
                             text=True).stdout.strip()
    return f"{server} / {subject}"


def smtp() -> str:
    with smtplib.SMTP(ip, 25, timeout=TIMEOUT) as s:
        banner = s.ehlo("attacker.example")[1].decode().splitlines()[0]
        try:
            s.login("postmaster", "letmein")
            return "logged in (unexpected)"
        except smtplib.SMTPAuthenticationError as exc:
            return f"{banner} / {exc.smtp_code} {exc.smtp_error.decode()}"


def pop3() -> str:
    p = poplib.POP3(ip, 110, timeout=TIMEOUT)
    welcome = p.getwelcome().decode()
    p.user("alice")
    try:
        p.pass_("alice2024")
        return "logged in (unexpected)"
    except poplib.error_proto as exc:
        return f"{welcome} / {exc}"


def imap() -> str:
    m = imaplib.IMAP4(ip, 143, timeout=TIMEOUT)
    welcome = m.welcome.decode()
    try:
        m.login("bob", "hunter2")
        return "logged in (unexpected)"
    except imaplib.IMAP4.error as exc:
        return f"{welcome[:60]} / {exc}"


def mysql() -> str:
    return first_line_with(run("mysql", "-h", ip, "-u", "root", "-pToor2024", "--connect-timeout=5", "-e",
                               "select 1"), "ERROR")


def postgres() -> str:
    out = run("psql", "-h", ip, "-U", "admin", "-d", "prod", "-c", "select 1",
              env={"PGPASSWORD": "s3cret", "PGCONNECT_TIMEOUT": "5", "PATH": "/usr/bin:/bin"})
    return first_line_with(out, "FATAL")


def redis() -> str:
    pong = run("redis-cli", "-h", ip, "PING")
    version = first_line_with(run("redis-cli", "-h", ip, "INFO", "server"), "redis_version")
    auth = run("redis-cli", "-h", ip, "AUTH", "default", "foobared")
    return f"{pong} / {version} / {auth}"


def mqtt() -> str:
    anonymous = run("mosquitto_pub", "-h", ip, "-t", "plant/valve1", "-m", "open", "-q", "1")
    refused = run("mosquitto_pub", "-h", ip, "-t", "x", "-m", "y", "-u", "admin", "-P", "mqttpass")
    return f"anonymous publish: {'ok' if not anonymous else anonymous} / with password: {refused}"


def smb() -> str:
    return first_line_with(run("smbclient", "-L", f"//{ip}", "-U", "administrator%Passw0rd!", "-m", "SMB3"),
                           "NT_STATUS")


def rdp() -> str:
    with socket.create_connection((ip, 3389), timeout=TIMEOUT) as s:
        cookie = b"Cookie: mstshash=administrator\r\n"
        neg = bytes([1, 0, 8, 0, 3, 0, 0, 0])          # RDP_NEG_REQ: TLS | CredSSP
        x224 = bytes([len(cookie) + len(neg) + 6, 0xE0, 0, 0, 0, 0, 0]) + cookie + neg
        s.sendall(bytes([3, 0, 0, 4 + len(x224)]) + x224)
        reply = s.recv(64)
    kind = {0xD0: "X.224 Connection Confirm"}.get(reply[5] & 0xF0, f"tpdu {reply[5]:#x}")
    selected = {0: "RDP", 1: "TLS", 2: "CredSSP", 8: "RDSTLS"}.get(reply[15] if len(reply) > 15 else -1, "?")
    return f"{kind}, protocol {selected}"


print(globals()[service]())
