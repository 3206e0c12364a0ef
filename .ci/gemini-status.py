#!/usr/bin/env python3
"""Asks a Gemini server for one URL over TLS, as a trust-on-first-use client does (any
certificate, SNI = the URL's host), and prints the response header. Exits 0 when the status is
the one expected, 1 on any other answer, 2 when no answer could be had.

Usage: .ci/gemini-status.py URL [EXPECTED_STATUS]    e.g. gemini://localhost/ 20"""
import socket
import ssl
import sys
from urllib.parse import urlsplit


def main():
    url = sys.argv[1]
    expected = sys.argv[2] if len(sys.argv) > 2 else "20"
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port or 1965
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=10) as tcp:
            with context.wrap_socket(tcp, server_hostname=host) as tls:
                tls.sendall(url.encode() + b"\r\n")
                answer = b""
                while b"\r\n" not in answer and len(answer) < 2048:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
    except OSError as e:
        print(f"no answer from {host}:{port}: {e}")
        return 2
    header = answer.split(b"\r\n", 1)[0].decode("utf-8", "replace")
    print(header)
    return 0 if header.split(" ", 1)[0] == expected else 1


if __name__ == "__main__":
    sys.exit(main())
