"""The commands of the README and of the docs, read and not run: .ci/run runs the README's set-up commands verbatim,
every documented command is of a kind tests/e2e/test_readme.py runs, the files and pictures the pages name exist,
and the pages speak to users."""

import re
from pathlib import Path

from tests.conftest import REPO

README = REPO / "README.md"
# The pages whose commands run here, in this order (evaluation.md, images.md and dcgan.md are not among them).
PAGES = [README] + [REPO / "docs" / f"{name}.md" for name in
                    ("guide", "losses", "conditional", "mixtures", "gaussian", "mnist", "scaling", "speed")]
SETUP_SECTIONS = ("Quick start", "Tests")  # run verbatim by .ci/run
KINDS = ("python -m gan.", "tensorboard --logdir ", 'pip install -e ".[', "python -m benchmarks.", "python benchmarks/",
         "benchmarks/", "pytest ")


def _sections(text: str) -> dict[str, str]:
    return {part.split("\n", 1)[0].strip(): part for part in re.split(r"^## ", text, flags=re.M)[1:]}


def bash_lines(text: str) -> list[str]:
    """Command lines of the ```bash blocks in `text`, without trailing comments."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        lines += [re.sub(r"\s+#.*$", "", line).strip() for line in block.splitlines() if line.strip()]
    return lines


def page_commands(page: Path) -> list[str]:
    text = page.read_text()
    if page == README:
        return [line for title, body in _sections(text).items() if not title.startswith(SETUP_SECTIONS)
                for line in bash_lines(body)]
    return bash_lines(text)


def error_examples(page: Path) -> list[tuple[str, str]]:
    """(command, the one line it prints) of every `$ python -m gan.run ...` example followed by `error: ...`."""
    return re.findall(r"^\$ (python -m gan\.run .*)\n(error: .*)$", page.read_text(), flags=re.M)


def test_ci_runs_the_readme_setup_commands_verbatim():
    ci = (REPO / ".ci" / "run").read_text()
    sections = _sections(README.read_text())
    for section in SETUP_SECTIONS:
        (title,) = [t for t in sections if t.startswith(section)]
        (command,) = bash_lines(sections[title])
        assert command in ci.splitlines(), f"README's {section} command is not what .ci/run runs"
        assert command.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install -e ")
    (title,) = [t for t in sections if t.startswith("Tests")]
    assert bash_lines(sections[title])[0].endswith("&& pytest")


def test_every_documented_command_is_understood():
    """The runner below knows every kind of command on these pages, so none is silently left out."""
    commands = [line for page in PAGES for line in page_commands(page)]
    assert commands and all(line.startswith(KINDS) for line in commands), [c for c in commands if not c.startswith(KINDS)]
    assert all(error_examples(page) for page in (README, REPO / "docs" / "guide.md", REPO / "docs" / "losses.md"))


def _named_files(text: str) -> set[str]:
    """Every benchmark script and test file a page names, in commands or in prose."""
    names = set(re.findall(r"\b((?:benchmarks|tests)/(?:\w+/)*\w+\.(?:py|sh))\b", text))
    return names | {f"benchmarks/{name}.py" for name in re.findall(r"-m benchmarks\.(\w+)", text)}


def test_docs_name_files_that_exist_and_every_picture_is_used():
    """Benchmarks, tests, pictures and pages the docs point at exist; no picture in docs/ is left unused."""
    missing, used = [], set()
    for page in [README, *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text()
        missing += [f"{page.name}: {name}" for name in sorted(_named_files(text)) if not (REPO / name).is_file()]
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if "://" not in target:
                path = (page.parent / target).resolve()
                used.add(path)
                missing += [f"{page.name}: link {target}"] if not path.exists() else []
    assert not missing, missing
    unused = [p.name for p in (REPO / "docs").glob("*.png") if p.resolve() not in used]
    assert not unused, f"pictures no page shows: {unused}"


def test_configs_and_code_point_at_pages_that_exist():
    """A comment in conf/, gan/ or benchmarks/ that sends the reader to docs/<page> names a page that is there."""
    missing = []
    for path in sorted(p for folder in ("conf", "gan", "benchmarks") for p in (REPO / folder).rglob("*")
                       if p.suffix in (".py", ".yaml", ".sh")):
        for name in set(re.findall(r"\bdocs/\w+\.(?:md|png)", path.read_text())):
            missing += [] if (REPO / name).is_file() else [f"{path.relative_to(REPO)}: {name}"]
    assert not missing, missing


def test_docs_speak_to_users():
    """No /tmp paths, no round-by-round logs, and the source programs are named by what they are, not "seed N"."""
    for page in [README, *sorted((REPO / "docs").glob("*.md"))]:
        text = page.read_text()
        assert "/tmp/" not in text, page.name
        assert not re.search(r"^#+ .*\bRound \d", text, flags=re.M | re.I), page.name
        source_as_seed = r"\bseed 00\d|\bthe (original|seed)'s\b|\bseed (program|recipe|notebook)s?\b"
        assert not re.search(source_as_seed, text, flags=re.I), page.name
