"""The CJK faces certificates use, and the reproducible script that makes them.

The full Noto CJK faces hold 65,535 glyphs each; embedding them makes every PDF slow and large. The
app ships pre-subset faces in `static/fonts/` (OFL, licence beside them):

- `NotoSerifSC-Bold-GB2312.otf` and `NotoSansSC-Regular-GB2312.otf`: GB2312 (6,763 hanzi and its
  symbols), ASCII and Latin-1, general and CJK punctuation, full-width forms, the middle dot — what
  nearly every name and text needs;
- `NotoSansSC-Regular-Full.otf`: the fallback for rare characters (the CJK Unified Ideographs and
  Extension A, e.g. 喆, 堃, 犇), used only by certificates whose text needs it.

Each face keeps only the `kern` layout feature (the others — vertical forms, localized forms,
ligatures — are never used on a certificate and make every shaping and subsetting step slower), and
its CFF outlines are converted to TrueType (quadratic, within 1 unit of 1,000 per em: invisible):
HarfBuzz subsets `glyf` faces about twice as fast as CID-keyed CFF ones and the embedded subsets are
a third of the size (measured: ~15 ms less per certificate, 97 → 29 KB per PDF). The file names
keep `.otf` (an OpenType font may hold either kind of outline).

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


def _cff_to_truetype(font, max_error: float = 1.0) -> None:
    """Replace the font's CFF outlines by TrueType ones (cubic → quadratic within `max_error` font
    units), in place."""
    from fontTools.pens.cu2quPen import Cu2QuPen
    from fontTools.pens.ttGlyphPen import TTGlyphPen
    from fontTools.ttLib import newTable

    if "CFF " not in font:
        return
    glyph_order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyf = newTable("glyf")
    glyf.glyphOrder = glyph_order
    glyf.glyphs = {}
    for name in glyph_order:
        pen = TTGlyphPen(glyph_set)
        glyph_set[name].draw(Cu2QuPen(pen, max_error, reverse_direction=True))
        glyf.glyphs[name] = pen.glyph()
    font["loca"] = newTable("loca")
    font["glyf"] = glyf
    font["head"].glyphDataFormat = 0
    maxp = newTable("maxp")
    maxp.tableVersion = 0x00010000
    for field in ("maxTwilightPoints", "maxStorage", "maxFunctionDefs", "maxInstructionDefs",
                  "maxStackElements", "maxSizeOfInstructions", "maxComponentElements", "maxComponentDepth"):
        setattr(maxp, field, 0)
    maxp.maxZones = 1
    font["maxp"] = maxp
    post = font["post"]
    post.formatType = 3.0  # no glyph names: the CID-keyed source has none worth keeping
    del font["CFF "]
    if "VORG" in font:  # vertical origins are a CFF-only table
        del font["VORG"]
    font.sfntVersion = "\x00\x01\x00\x00"


def make_subsets(source_dir: Path = SOURCE_DIR, output_dir: Path = FONT_DIR) -> list[tuple[str, int]]:
    """Write the subset faces; returns (file name, bytes) per face."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    output_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for output, collection, repertoire in FACES:
        path = source_dir / collection
        font = TTFont(path, fontNumber=_sc_index(path), lazy=False, recalcTimestamp=False)  # reproducible
        options = subset.Options()
        options.layout_features = ["kern"]
        options.name_IDs = ["*"]
        options.hinting = False
        options.desubroutinize = False
        options.notdef_outline = True
        subsetter = subset.Subsetter(options)
        characters = common_repertoire() if repertoire == "common" else full_repertoire()
        subsetter.populate(unicodes=[ord(char) for char in characters])
        subsetter.subset(font)
        _cff_to_truetype(font)
        target = output_dir / output
        font.save(target)
        written.append((output, target.stat().st_size))
    return written
