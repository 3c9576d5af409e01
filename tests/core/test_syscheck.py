"""`make run` and `make test` check WeasyPrint's system libraries and print the install command."""

from competition import syscheck


def test_all_libraries_present_renders_a_pdf(capsys):
    assert syscheck.main() == 0


def test_a_missing_library_prints_the_exact_apt_command(monkeypatch, capsys):
    monkeypatch.setitem(syscheck.REQUIRED, "no-such-library-for-tests", "libno-such-library0")
    assert syscheck.main() == 1
    assert "sudo apt-get install -y libno-such-library0" in capsys.readouterr().err
