"""Stand-in for the get-pip.py that ansible-test downloads from ci-files.testing.ansible.com
to bootstrap pip in each of its sanity-test virtualenvs (that host is not reachable from CI;
PyPI is). Same interface: `python get_pip.py [pip install options] pip==X ...`. Bootstraps
pip with the interpreter's ensurepip (Debian: python3-venv), then installs the requested
packages from PyPI. tests/ansible/run.sh copies it to ansible-test's cache path."""
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
