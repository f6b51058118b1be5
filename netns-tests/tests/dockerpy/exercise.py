"""docker-py (PyPI `docker`) against berthd: a second Engine API client nobody here wrote.

Run by netns-tests/tests/daemon_dockerpy.rs inside the test host netns, with DOCKER_HOST set
to berthd's socket and the image `bb` (busybox, /www/index.html) already loaded. Every check
raises on failure; the last line printed is the success marker the Rust test looks for.
"""

import time
import urllib.request

import docker
from docker.types import IPAMConfig, IPAMPool


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def fetch(url, tries=50):
    for _ in range(tries):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"no answer from {url}")


def basics(client):
    check(client.ping() is True, "ping")
    check(client.version()["ApiVersion"] == "1.41", client.version())
    check(client.info()["Driver"] != "", "info")
    img = client.images.get("bb")
    check("bb:latest" in img.tags, img.tags)
    check(any("bb:latest" in i.tags for i in client.images.list()), "images.list")


def runs(client):
    out = client.containers.run("bb", ["sh", "-c", "echo hi from py"], remove=True)
    check(out == b"hi from py\n", out)
    try:
        client.containers.run("bb", ["sh", "-c", "exit 3"], remove=True)
        raise AssertionError("exit 3 did not raise")
    except docker.errors.ContainerError as e:
        check(e.exit_status == 3, e.exit_status)
    try:
        client.containers.get("no-such-container")
        raise AssertionError("get of a missing container did not raise")
    except docker.errors.NotFound:
        pass


def web(client):
    c = client.containers.run(
        "bb",
        ["httpd", "-f", "-p", "80", "-h", "/www"],
        detach=True,
        name="pyweb",
        ports={"80/tcp": 18090},
        labels={"by": "py"},
    )
    c.reload()
    check(c.status == "running", c.status)
    check(c.attrs["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] == "18090", c.attrs)
    check(fetch("http://127.0.0.1:18090/") == "served by berth\n", "page")
    listed = client.containers.list(filters={"label": "by=py"})
    check([x.name for x in listed] == ["pyweb"], listed)
    code, out = c.exec_run(["cat", "/www/index.html"])
    check((code, out) == (0, b"served by berth\n"), (code, out))
    code, _ = c.exec_run(["sh", "-c", "exit 7"])
    check(code == 7, code)
    try:
        client.containers.run("bb", ["true"], name="pyweb", detach=True)
        raise AssertionError("a name clash did not raise")
    except docker.errors.APIError as e:
        check(e.status_code == 409, e.status_code)
    c.stop(timeout=1)
    check(c.wait(timeout=10)["StatusCode"] in (137, 143, 0), "wait")
    c.reload()
    check(c.status == "exited", c.status)
    c.remove()
    check(not client.containers.list(all=True, filters={"name": "pyweb"}), "removed")


def logs(client):
    c = client.containers.run("bb", ["sh", "-c", "echo one; echo two >&2"], detach=True)
    check(c.wait(timeout=10)["StatusCode"] == 0, "wait")
    check(c.logs(stdout=True, stderr=False) == b"one\n", c.logs())
    check(c.logs(stdout=False, stderr=True) == b"two\n", c.logs())
    c.remove(force=True)


def networks(client):
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet="10.233.0.0/24")])
    net = client.networks.create("pynet", driver="bridge", ipam=ipam, labels={"by": "py"})
    check(client.networks.get("pynet").id == net.id, "networks.get")
    c = client.containers.run("bb", ["sleep", "30"], detach=True, name="pyctr")
    net.connect(c, ipv4_address="10.233.0.50")
    net.reload()
    check([x.name for x in net.containers] == ["pyctr"], net.containers)
    c.reload()
    check(c.attrs["NetworkSettings"]["Networks"]["pynet"]["IPAddress"] == "10.233.0.50", c.attrs)
    net.disconnect(c)
    net.reload()
    check(net.containers == [], net.containers)
    c.remove(force=True)
    net.remove()
    check(not client.networks.list(names=["pynet"]), "network removed")


def volumes(client):
    v = client.volumes.create("pyvol", labels={"by": "py"})
    check([x.name for x in client.volumes.list(filters={"label": "by=py"})] == ["pyvol"], "ls")
    mount = {"pyvol": {"bind": "/data", "mode": "rw"}}
    client.containers.run("bb", ["sh", "-c", "echo kept > /data/f"], volumes=mount, remove=True)
    out = client.containers.run("bb", ["cat", "/data/f"], volumes=mount, remove=True)
    check(out == b"kept\n", out)
    v.remove()
    try:
        client.volumes.get("pyvol")
        raise AssertionError("the removed volume is still there")
    except docker.errors.NotFound:
        pass


def events_and_df(client, since):
    until = time.time() + 0.5
    seen = list(client.events(since=since, until=until, decode=True))
    names = {(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in seen}
    for want in [("container", "start", "pyweb"), ("container", "destroy", "pyweb"),
                 ("network", "create", "pynet"), ("volume", "create", None)]:
        check(want in names, (want, sorted(names, key=str)))
    df = client.df()
    check(any("bb:latest" in (i["RepoTags"] or []) for i in df["Images"]), df)


def main():
    client = docker.from_env(version="auto")
    since = time.time()
    basics(client)
    runs(client)
    web(client)
    logs(client)
    networks(client)
    volumes(client)
    events_and_df(client, since)
    print("docker-py: all checks passed")


if __name__ == "__main__":
    main()
