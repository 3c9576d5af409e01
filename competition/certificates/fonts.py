"""The CJK faces certificates use, and the reproducible script that makes them.

The full Noto CJK faces hold 65,535 glyphs each; embedding them makes every PDF slow and large. The
app ships pre-subset faces in `static/fonts/` (OFL, licence beside them):

- `NotoSerifSC-Bold-GB2312.otf` and `NotoSansSC-Regular-GB2312.otf`: GB2312 (6,763 hanzi and its
  symbols), ASCII and Latin-1, general and CJK punctuation, full-width forms, the middle dot — what
  nearly every name and text needs;
- `NotoSansSC-Regular-Full.otf`: the fallback for rare characters (the CJK Unified Ideographs and
  Extension A, e.g. 喆, 堃, 犇), used only by certificates whose text needs it.

Run `flask --app wsgi certificates subset-fonts` on a machine with Debian's `fonts-noto-cjk` to
make them again (the output is byte-for-byte stable for a given source font).
"""

from __future__ import annotations

from pathlib import Path

SOURCE_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_DIR = Path(__file__).resolve().parent.parent.parent / "static" / "fonts"
#: (output file, source collection, the face's index in it for Simplified Chinese, repertoire)
FACES = [
    ("NotoSerifSC-Bold-GB2312.otf", "NotoSerifCJK-Bold.ttc", "common"),
    ("NotoSansSC-Regular-GB2312.otf", "NotoSansCJK-Regular.ttc", "common"),
    ("NotoSansSC-Regular-Full.otf", "NotoSansCJK-Regular.ttc", "full"),
]
FAMILIES = {
    "NotoSerifSC-Bold-GB2312.otf": ("Certificate Serif", "bold"),
    "NotoSansSC-Regular-GB2312.otf": ("Certificate Sans", "normal"),
    "NotoSansSC-Regular-Full.otf": ("Certificate Sans Full", "normal"),
}


def gb2312_characters() -> set[str]:
    characters = set()
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                characters.add(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return characters


def _ranges(*spans: tuple[int, int]) -> set[str]:
    return {chr(code) for start, end in spans for code in range(start, end + 1)}


def common_repertoire() -> set[str]:
    return (
        gb2312_characters()
        | _ranges((0x20, 0x7E), (0xA0, 0xFF))  # ASCII, Latin-1
        | _ranges((0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF))  # punctuation, CJK symbols, full-width
        | {"·", "•", "—", "–", "…", "№", "©", "®"}
    )


def full_repertoire() -> set[str]:
    return common_repertoire() | _ranges((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))


def _sc_index(collection: Path) -> int:
    from fontTools.ttLib import TTCollection

    for index, font in enumerate(TTCollection(collection).fonts):
        if "SC" in font["name"].getDebugName(1):
            return index
    raise LookupError(f"no Simplified Chinese face in {collection}")


def make_subsets(source_dir: Path = SOURCE_DIR, output_dir: Path = FONT_DIR) -> list[tuple[str, int]]:
    """Write the subset faces; returns (file name, bytes) per face."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for output, collection, repertoire in FACES:
        path = source_dir / collection
        font = TTFont(path, fontNumber=_sc_index(path), lazy=False)
        options = subset.Options()
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.hinting = False
        options.desubroutinize = False
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        characters = common_repertoire() if repertoire == "common" else full_repertoire()
        subsetter.populate(unicodes=[ord(char) for char in characters])
        subsetter.subset(font)
        target = output_dir / output
        font.save(target)
        written.append((output, target.stat().st_size))
    return written
