"""Connect to HOST PORT, optionally send a line, print what the service says (bounded)."""
import socket
import sys

host, port = sys.argv[1], int(sys.argv[2])
send = sys.argv[3] if len(sys.argv) > 3 else ""
with socket.create_connection((host, port), timeout=5) as conn:
    conn.settimeout(3)
    if send:
        conn.sendall(send.encode().decode("unicode_escape").encode("latin-1"))
    data = b""
    try:
        while len(data) < 4096:
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
            if not send or b"\r\n\r\n" in data:
                break
    except socket.timeout:
        pass
sys.stdout.write(data.decode("latin-1"))
