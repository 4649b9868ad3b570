#!/usr/bin/env python3
"""DECNET http decoy: an Apache-on-Debian look-alike that records every request.

Standard library only. Listens on 0.0.0.0:80 (``DECNET_HTTP_PORT`` overrides), one thread per
connection. Events (RFC 5424 on stdout, via decnet_logging): connect, request (every request),
auth (``POST /login`` credentials and any ``Authorization: Basic`` header), disconnect.

With ``DECNET_HTTP_TLS=1`` (the engine's https service runs this image so) it is the same site
over TLS on 0.0.0.0:443 (``DECNET_HTTPS_PORT``), Server header from ``DECNET_HTTPS_SERVER``
(else ``DECNET_HTTP_SERVER``). The certificate is self-signed RSA-2048 for ``DECNET_HOSTNAME``
(CN and subjectAltName), made once per container by decnet_tls (python3-cryptography) and
kept under /var/lib/decnet/tls/. The handshake runs in the connection's thread; its outcome is
logged (``tls``: version, cipher, SNI) or, when it fails, the disconnect says why.
"""

import base64
import binascii
import email.utils
import html
import json
import os
import signal
import socket
import socketserver
import ssl
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import decnet_tls
from decnet_logging import log_event

TLS = (os.environ.get("DECNET_HTTP_TLS") or "").strip().lower() in ("1", "true", "yes", "on")
if TLS:
    SERVER = (os.environ.get("DECNET_HTTPS_SERVER") or os.environ.get("DECNET_HTTP_SERVER")
              or "Apache/2.4.57 (Debian)")
    PORT = int(os.environ.get("DECNET_HTTPS_PORT") or 443)
else:
    SERVER = os.environ.get("DECNET_HTTP_SERVER") or "Apache/2.4.57 (Debian)"
    PORT = int(os.environ.get("DECNET_HTTP_PORT") or 80)
HOSTNAME = os.environ.get("DECNET_HOSTNAME") or os.environ.get("DECNET_DECKY") or ""
IDLE_TIMEOUT = 15           # seconds a keep-alive connection may idle
MAX_BODY = 64 * 1024        # request bodies read (and logged) up to this size
MAX_LOGGED = 4096           # characters of a single logged value
MAX_CONNECTIONS = 512
TLS_DIR = "/var/lib/decnet/tls"
HANDSHAKE_TIMEOUT = 10      # seconds a client gets to finish the TLS handshake
TLS_CONTEXT = None          # set in main() when TLS is on

STARTED = time.time()
LAST_MODIFIED = email.utils.formatdate(STARTED - 86400 * 37, usegmt=True)

DEFAULT_PAGE = """<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 Debian Default Page: It works</title>
    <style type="text/css" media="screen">
      body { background-color: #D8DBE2; font-family: Verdana, sans-serif; font-size: 11pt; }
      div.main_page { width: 800px; margin: 10px auto; background-color: #FFFFFF; border: 1px solid #000000; }
      div.banner { background-color: #A80030; color: #FFFFFF; padding: 12px; font-size: 16pt; font-weight: bold; }
      div.section { padding: 8px 18px; }
      pre { background-color: #F4F4F4; border: 1px dotted #888888; padding: 6px; }
    </style>
  </head>
  <body>
    <div class="main_page">
      <div class="banner">Apache2 Debian Default Page &mdash; It works!</div>
      <div class="section">
        <p>This page is shown because the web server on this machine has just been
        installed and nothing has been published yet. If you can read it, Apache
        is up and serving files.</p>
        <p>Replace this file, found at <tt>/var/www/html/index.html</tt>, before you put
        the site into service.</p>
      </div>
      <div class="section">
        <h3>Where the configuration lives</h3>
        <p>Debian splits the Apache configuration into several files under
        <tt>/etc/apache2/</tt>:</p>
<pre>
/etc/apache2/
|-- apache2.conf
|-- ports.conf
|-- mods-enabled/
|-- conf-enabled/
`-- sites-enabled/
</pre>
        <p>Enable or disable sites, modules and snippets with <tt>a2ensite</tt>,
        <tt>a2enmod</tt>, <tt>a2enconf</tt> and their <tt>a2dis*</tt> counterparts, then
        reload the service with <tt>systemctl reload apache2</tt>.</p>
      </div>
      <div class="section">
        <h3>Reporting problems</h3>
        <p>Use the <tt>reportbug</tt> tool to report a problem with the apache2 package.</p>
      </div>
    </div>
  </body>
</html>
"""

LOGIN_PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<h2>Sign in</h2>
%(error)s<form method="post" action="/login">
  <label>Username <input type="text" name="username"></label><br>
  <label>Password <input type="password" name="password"></label><br>
  <input type="submit" value="Sign in">
</form>
</body>
</html>
"""

REASONS = {
    400: ("Bad Request", "Your browser sent a request that this server could not understand."),
    401: ("Unauthorized",
          "This server could not verify that you\nare authorized to access the document\n"
          "requested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\n"
          "browser doesn't understand how to supply\nthe credentials required."),
    403: ("Forbidden", "You don't have permission to access this resource."),
    404: ("Not Found", "The requested URL was not found on this server."),
    405: ("Method Not Allowed", "The requested method is not allowed for this URL."),
    408: ("Request Timeout", "Server timeout waiting for the HTTP request from the client."),
    413: ("Request Entity Too Large", "The requested resource does not allow request data "
          "with this request, or the amount of data provided in\nthe request exceeds the "
          "capacity limit."),
    414: ("Request-URI Too Long",
          "The requested URL's length exceeds the capacity\nlimit for this server."),
    431: ("Request Header Fields Too Large", "Size of a request header field exceeds server limit."),
    501: ("Not Implemented", "The requested method is not supported by this server."),
    505: ("HTTP Version Not Supported", "The server does not support the HTTP version used."),
}

USER_KEYS = ("username", "user", "login", "email", "user_name", "uname", "usr", "name")
PASS_KEYS = ("password", "pass", "passwd", "pwd", "pw", "secret")


def _clip(value):
    value = "" if value is None else str(value)
    return value if len(value) <= MAX_LOGGED else value[:MAX_LOGGED] + "..."


def _pick(form, keys):
    lowered = {str(k).lower(): v for k, v in form.items()}
    for key in keys:
        if key in lowered:
            value = lowered[key]
            if isinstance(value, list):
                value = value[0] if value else ""
            return "" if value is None else str(value)
    return ""


class DecoyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = SERVER
    sys_version = ""
    timeout = IDLE_TIMEOUT
    default_request_version = "HTTP/1.1"  # so even a garbage request gets a status line
    error_message_format = ""  # never used: send_error is ours

    # -- plumbing ------------------------------------------------------------------
    def version_string(self):
        return SERVER

    def log_message(self, format, *args):  # http.server writes every request to stderr
        pass

    def setup(self):
        self.src_ip, self.src_port = self.client_address[0], self.client_address[1]
        self.started = time.monotonic()
        self.requests = 0
        self.status = None
        self.tls_socket = None
        self.tls_error = None
        log_event("connect", self.src_ip, self.src_port)
        if TLS_CONTEXT is not None:
            self._start_tls()
        super().setup()

    def _start_tls(self):
        """TLS handshake, here in the connection's own thread (never in the accept loop)."""
        raw = self.request
        try:
            raw.settimeout(HANDSHAKE_TIMEOUT)
            tls = TLS_CONTEXT.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        except (OSError, ValueError) as exc:
            self.tls_error = type(exc).__name__
            return
        self.request = self.tls_socket = tls
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError, ValueError) as exc:
            self.tls_error = decnet_tls.handshake_failure(exc)
            if self.tls_error == "HTTP_REQUEST":
                self._plain_http_on_tls()
            return
        cipher = tls.cipher() or ("", "", 0)
        fields = {"version": tls.version() or "", "cipher": cipher[0]}
        sni = getattr(tls, "decnet_sni", None)
        if sni:
            fields["sni"] = _clip(sni)
        log_event("tls", self.src_ip, self.src_port, **fields)

    def _plain_http_on_tls(self):
        """Apache's answer to plain HTTP on its SSL port (other servers just hang up)."""
        if not SERVER.startswith("Apache"):
            return
        host = html.escape((HOSTNAME or self.server.server_name)[:128])
        body = ('<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n'
                "<title>400 Bad Request</title>\n</head><body>\n<h1>Bad Request</h1>\n"
                "<p>Your browser sent a request that this server could not understand.<br />\n"
                "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
                " Instead use the HTTPS scheme to access this URL, please.<br />\n</p>\n"
                "<hr>\n<address>%s Server at %s Port %d</address>\n</body></html>\n"
                % (html.escape(SERVER), host, self.server.server_port)).encode()
        head = ("HTTP/1.1 400 Bad Request\r\nDate: %s\r\nServer: %s\r\nContent-Length: %d\r\n"
                "Connection: close\r\nContent-Type: text/html; charset=iso-8859-1\r\n\r\n"
                % (self.date_time_string(), SERVER, len(body))).encode()
        try:
            plain = socket.socket(fileno=self.tls_socket.detach())
            self.request = self.tls_socket = plain
            plain.sendall(head + body)
        except OSError:
            pass

    def finish(self):
        try:
            super().finish()
        except Exception:
            pass
        if self.tls_socket is not None:
            try:
                self.tls_socket.close()
            except OSError:
                pass
        fields = {"requests": self.requests, "duration": "%.3f" % (time.monotonic() - self.started)}
        if self.tls_error:
            fields.update(reason="tls_handshake_failed", tls_error=self.tls_error)
        log_event("disconnect", self.src_ip, self.src_port, **fields)

    def send_response(self, code, message=None):
        # like Apache: Date before Server
        self.status = code
        self.send_response_only(code, message)
        self.send_header("Date", self.date_time_string())
        self.send_header("Server", self.version_string())

    def handle(self):
        if self.tls_error:
            return
        try:
            super().handle()
        except Exception:
            pass  # abrupt disconnects, resets, garbage: just end the connection

    def handle_one_request(self):
        self.status = None
        self.command = None
        self.path = ""
        self.request_version = ""
        self.headers = {}
        self.raw_requestline = b""
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        self.requests += 1
        try:
            if len(self.raw_requestline) > 65536:
                self.requestline = self.raw_requestline.decode("iso-8859-1")[:200]
                self.request_version = "HTTP/1.1"
                self.send_error(414)
                self.close_connection = True
                return
            if not self.parse_request():  # parse_request has sent the error itself
                self.close_connection = True
                return
            method = getattr(self, "do_" + self.command, None)
            if method is None or not self.command.isupper():
                self.send_error(501)
                self.close_connection = True
                return
            method()
            self.wfile.flush()
        finally:
            self._log_request()

    def _log_request(self):
        headers = self.headers if hasattr(self.headers, "get") else {}
        fields = {
            "method": self.command or "",
            "path": _clip(self.path),
            "version": self.request_version or "",
            "status": self.status if self.status is not None else "",
            "user_agent": _clip(headers.get("User-Agent", "")),
            "host": _clip(headers.get("Host", "")),
        }
        if not self.command:
            fields["raw"] = _clip(self.raw_requestline.decode("utf-8", "backslashreplace").rstrip("\r\n"))
        referer = headers.get("Referer")
        if referer:
            fields["referer"] = _clip(referer)
        log_event("request", self.src_ip, self.src_port, **fields)

    # -- responses ---------------------------------------------------------------
    def _host_for_signature(self):
        host = ""
        if hasattr(self.headers, "get"):
            host = (self.headers.get("Host") or "").strip()
            if host.startswith("["):
                host = host.split("]")[0] + "]"
            else:
                host = host.split(":")[0]
        if not host:
            host = HOSTNAME or self.server.server_name
        return html.escape(host[:128])

    def _send(self, code, body, content_type="text/html; charset=iso-8859-1",
              extra=None, head=False):
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(code)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.end_headers()
        if not head and self.command != "HEAD":
            self.wfile.write(data)

    def send_error(self, code, message=None, explain=None):
        """Apache-style error page (http.server's own one names Python)."""
        reason, text = REASONS.get(code, (self.responses.get(code, ("Error",))[0], ""))
        if code in (405, 501) and self.command:
            text = ("The requested method %s is not allowed for this URL." if code == 405 else
                    "%s not supported for current URL.") % html.escape(self.command[:64])
        if code in (400, 408, 413, 414, 431, 501, 505):
            self.close_connection = True
        body = (
            '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n'
            "<html><head>\n<title>%d %s</title>\n</head><body>\n<h1>%s</h1>\n<p>%s</p>\n"
            "<hr>\n<address>%s Server at %s Port %d</address>\n</body></html>\n"
            % (code, reason, reason, text, html.escape(SERVER), self._host_for_signature(),
               self.server.server_port)
        )
        extra = {}
        if code == 401:
            extra["WWW-Authenticate"] = 'Basic realm="Restricted"'
        if code == 405:
            extra["Allow"] = "GET,POST,OPTIONS,HEAD"
        try:
            self._send(code, body, extra=extra)
        except Exception:
            self.close_connection = True

    # -- request body and credentials --------------------------------------------
    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True  # not worth decoding: read what fits, then hang up
            try:
                self.connection.settimeout(2)
                return self.rfile.read1(MAX_BODY) if hasattr(self.rfile, "read1") else b""
            except Exception:
                return b""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            self.close_connection = True
            return b""
        if length <= 0:
            return b""
        if length > MAX_BODY:
            self.close_connection = True
        try:
            return self.rfile.read(min(length, MAX_BODY))
        except Exception:
            self.close_connection = True
            return b""

    def _basic_auth(self):
        value = self.headers.get("Authorization") or ""
        scheme, _, token = value.strip().partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(token.strip(), validate=False).decode("utf-8", "replace")
            username, _, password = decoded.partition(":")
            fields = {"username": _clip(username), "password": _clip(password)}
        except (binascii.Error, ValueError):
            fields = {"username": "", "password": "", "raw": _clip(token)}
        log_event("auth", self.src_ip, self.src_port, severity="notice", method="basic",
                  path=_clip(self.path), **fields)
        return True

    def _form_login(self, body):
        text = body.decode("utf-8", "replace")
        ctype = (self.headers.get("Content-Type") or "").lower()
        form = {}
        if "json" in ctype or text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
                if isinstance(data, dict):
                    form = data
            except ValueError:
                pass
        if not form:
            form = urllib.parse.parse_qs(text, keep_blank_values=True)
        username, password = _pick(form, USER_KEYS), _pick(form, PASS_KEYS)
        fields = {"username": _clip(username), "password": _clip(password)}
        if not form:
            fields["raw"] = _clip(text)
        log_event("auth", self.src_ip, self.src_port, severity="notice", method="form",
                  path=_clip(self.path), **fields)

    # -- methods -------------------------------------------------------------------
    def _route(self, body=b""):
        path = urllib.parse.urlsplit(self.path).path or "/"
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        self._basic_auth()
        if path == "/admin" or path.startswith("/admin/"):
            self.send_error(401)
            return
        if path in ("/login", "/login/", "/login.php"):
            if self.command == "POST":
                self._form_login(body)
                self._send(200, LOGIN_PAGE % {"error": "<p>Invalid username or password.</p>\n"},
                           content_type="text/html; charset=UTF-8")
            elif self.command in ("GET", "HEAD"):
                self._send(200, LOGIN_PAGE % {"error": ""}, content_type="text/html; charset=UTF-8")
            else:
                self.send_error(405)
            return
        if path in ("/", "/index.html"):
            if self.command in ("GET", "HEAD"):
                self._send(200, DEFAULT_PAGE, content_type="text/html",
                           extra={"Last-Modified": LAST_MODIFIED,
                                  "ETag": '"%x-%x"' % (len(DEFAULT_PAGE), int(STARTED)),
                                  "Accept-Ranges": "bytes", "Vary": "Accept-Encoding"})
            else:
                self.send_error(405)
            return
        self.send_error(404)

    def do_GET(self):
        self._route()

    def do_HEAD(self):
        self._route()

    def do_POST(self):
        self._route(self._read_body())

    def do_PUT(self):
        self._read_body()
        self._route()

    def do_DELETE(self):
        self._route()

    def do_PATCH(self):
        self._read_body()
        self._route()

    def do_OPTIONS(self):
        self._basic_auth()
        self._send(200, b"", content_type="text/html",
                   extra={"Allow": "GET,POST,OPTIONS,HEAD"})


class DecoyHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, *args, **kwargs):
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(*args, **kwargs)

    def server_bind(self):
        # HTTPServer.server_bind does a reverse DNS lookup (getfqdn): avoid it
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOSTNAME or socket.gethostname()
        self.server_port = self.server_address[1]

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            log_event("connect", client_address[0], client_address[1])
            log_event("disconnect", client_address[0], client_address[1], reason="busy")
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except Exception:
            self.slots.release()
            self.shutdown_request(request)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        pass  # never print tracebacks


def _terminate(signum, frame):
    raise SystemExit(0)


def _remember_sni(tls_socket, server_name, context):
    try:
        tls_socket.decnet_sni = server_name
    except Exception:
        pass


def tls_context():
    crt, key = decnet_tls.load_or_create_certificate(
        TLS_DIR, HOSTNAME or socket.gethostname(), name="https", valid_days=365, profile=decnet_tls.WEB)
    context = decnet_tls.server_context(crt, key, alpn=["http/1.1"])
    context.sni_callback = _remember_sni
    return context


def main():
    global TLS_CONTEXT
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    threading.excepthook = lambda args: None
    if TLS:
        TLS_CONTEXT = tls_context()
    server = DecoyHTTPServer(("0.0.0.0", PORT), DecoyHandler)
    try:
        server.serve_forever(poll_interval=0.5)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
