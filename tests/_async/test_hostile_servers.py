"""Hostile servers, in process: the caps and limits raise their documented errors, and
the pool is usable afterwards with nothing leaked. (Memory under decompression bombs is
measured in a subprocess: tests/hostile/test_bombs.py.)"""

from __future__ import annotations

from typing import Any

import pytest

import httpduo
from httpduo._models._decoders import PULL_SIZE
from tests.hostile.bombs import (
    MIB,
    SMALL_BODY,
    bomb_script,
    h2_bomb_script,
    interim_flood_script,
)
from tests.servers.h2_scripted import H2Peer, H2Request

pytestmark = pytest.mark.anyio

CODECS = ["llhttp", "h11"]


def transport_for(protocol: str) -> httpduo.AsyncHTTPTransport:
    if protocol == "h2":
        return httpduo.AsyncHTTPTransport(http1=False, http2=True)
    return httpduo.AsyncHTTPTransport(http1_codec=protocol)


@pytest.mark.parametrize("codec", CODECS)
async def test_endless_interim_responses_fail_the_request(raw_server: Any, codec: str) -> None:
    flood = raw_server(interim_flood_script())
    transport = transport_for(codec)
    async with httpduo.AsyncClient(transport=transport, timeout=30) as client:
        # Without a cap this would read 100 Continue until the 30 s read timeout.
        with pytest.raises(httpduo.RemoteProtocolError, match=r"more than 100 interim \(1xx\)"):
            await client.get(flood.url)
        assert transport.pool.connections == []


@pytest.mark.parametrize("codec", CODECS)
async def test_a_few_interim_responses_are_fine(raw_server: Any, codec: str) -> None:
    server = raw_server(interim_flood_script(count=50))
    async with httpduo.AsyncClient(transport=transport_for(codec)) as client:
        response = await client.get(server.url)
        assert (response.status_code, response.content) == (200, b"ok")


def h2_interim_flood(conn: Any) -> None:
    def flood(peer: H2Peer, request: H2Request) -> None:
        for _ in range(200):
            peer.send_headers(request.stream_id, 103, [(b"link", b"</a.css>; rel=preload")])
            if peer.closed:
                return
        peer.respond(request.stream_id, b"too late")

    H2Peer(conn).serve(flood)


async def test_endless_interim_responses_over_http2(raw_server: Any) -> None:
    server = raw_server(h2_interim_flood, check_errors=False)
    async with httpduo.AsyncClient(transport=transport_for("h2")) as client:
        with pytest.raises(httpduo.RemoteProtocolError, match=r"\(the last was 103\)"):
            await client.get(server.url)


async def count_chunks(response: httpduo.Response, sizes: list[int]) -> None:
    async for chunk in response.aiter_bytes(1024):
        sizes.append(len(chunk))


@pytest.mark.parametrize("protocol", [*CODECS, "h2"])
async def test_body_limit_while_streaming(raw_server: Any, protocol: str) -> None:
    server = raw_server(h2_bomb_script if protocol == "h2" else bomb_script)
    transport = transport_for(protocol)
    limit = {"max_response_body": 4 * MIB}
    async with httpduo.AsyncClient(transport=transport) as client:
        async with client.stream("GET", server.url + "/gzip/64", extensions=limit) as response:
            received: list[int] = []
            with pytest.raises(httpduo.ResponseTooLarge, match="max_response_body=4194304"):
                await count_chunks(response, received)
            assert response.is_closed
            assert 4 * MIB <= sum(received) <= 4 * MIB + PULL_SIZE  # stopped at the limit
        # The half-read connection was closed, not pooled; the next request works.
        response = await client.get(server.url + "/small")
        assert response.content == SMALL_BODY
        if protocol != "h2":
            assert server.connections == 2
        assert len(transport.pool.connections) == 1


@pytest.mark.parametrize("protocol", [*CODECS, "h2"])
async def test_body_limit_on_read(raw_server: Any, protocol: str) -> None:
    server = raw_server(h2_bomb_script if protocol == "h2" else bomb_script)
    async with httpduo.AsyncClient(transport=transport_for(protocol)) as client:
        with pytest.raises(httpduo.ResponseTooLarge, match="decoded to"):
            await client.get(server.url + "/zstd/64", extensions={"max_response_body": MIB})
        # Under the limit, read() returns the body.
        response = await client.get(
            server.url + "/zstd/2", extensions={"max_response_body": 2 * MIB}
        )
        assert response.content == bytes(2 * MIB)
        assert (await client.get(server.url + "/small")).content == SMALL_BODY


async def test_download_limit_refuses_a_long_content_length_up_front(raw_server: Any) -> None:
    server = raw_server(bomb_script)
    async with httpduo.AsyncClient() as client:
        url = server.url + "/gzip/64"  # about 64 KiB on the wire
        with pytest.raises(httpduo.ResponseTooLarge, match="Content-Length is"):
            await client.get(url, extensions={"max_response_download": 1000})
        response = await client.get(url, extensions={"max_response_download": MIB})
        assert len(response.content) == 64 * MIB
        assert response.num_bytes_downloaded < MIB
        # A HEAD answer's Content-Length describes a body that is not sent.
        response = await client.head(url, extensions={"max_response_download": 1000})
        assert response.status_code == 200


async def test_bad_body_limit_is_a_clear_error(raw_server: Any) -> None:
    server = raw_server(bomb_script)
    async with httpduo.AsyncClient() as client:
        with pytest.raises(ValueError, match="'max_response_body' extension must be"):
            await client.get(server.url + "/small", extensions={"max_response_body": "1 MB"})


async def test_too_many_content_codings(raw_server: Any) -> None:
    server = raw_server(bomb_script)
    async with httpduo.AsyncClient() as client:
        with pytest.raises(httpduo.DecodingError, match="Content-Encoding header lists more"):
            await client.get(server.url + "/many/1")
        assert (await client.get(server.url + "/small")).content == SMALL_BODY


async def test_redirect_to_file_url_names_the_location_sent(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request()
        conn.send(
            b"HTTP/1.1 302 Found\r\nLocation: file:///etc/passwd\r\nContent-Length: 0\r\n\r\n"
        )
        conn.recv_until_closed()

    server = raw_server(script)
    async with httpduo.AsyncClient(follow_redirects=True) as client:
        with pytest.raises(httpduo.UnsupportedProtocol, match="'file:///etc/passwd'"):
            await client.get(server.url)


async def test_too_many_content_codings_while_streaming(raw_server: Any) -> None:
    server = raw_server(bomb_script)
    url = server.url + "/many/1"
    async with httpduo.AsyncClient() as client, client.stream("GET", url) as response:
        with pytest.raises(httpduo.DecodingError) as caught:
            await count_chunks(response, [])
        assert caught.value.request.url == url
