"""A workspace with typed-in lines (no scan, no crops) and a small voter file, for the matching tests."""

from __future__ import annotations

from pathlib import Path

from pipeline.store import Workspace
from pipeline.voter_import import import_voter_file
from scanner.types import (InkMeasure, LineReading, LineStatus, PageRef, PageResult, PageStatus, Presence, Role,
                           TextRead)

FILE_SHA = "5a" * 32
VOTERS = """VOTER_ID,FIRST_NAME,LAST_NAME,RES_ADDRESS,ZIP,WARD
100,KOA,MENSAH,12 OAK ST,02134,3
101,KOA,NENSAH,9 ELM AVE,94110,5
200,IMANI,VARGAS,4871 FOREST BLVD,22863,2
201,IMANI,VARGAS,7517 LINCOLN CT,68713,8
202,IMONI,VARGAS,6354 PRAIRIE WAY,01771,5
300,OWEN,WUX,1 MAIN ST,30301,1
400,ROBERT,SMITH,5 PINE RD,60601,4
500,ANN,LEE,2 ELM,07001,6
"""
# line -> (name, address, zip, ward, status)
LINES = {
    1: ("Koa Mensah", "12 Oak St", "02134", "", LineStatus.SIGNED),  # matched
    2: ("IMANIVARGAS", "4871 Forest Blvd", "22863", "", LineStatus.SIGNED),  # run together, address decides
    3: ("Imani Vargas", "", "", "", LineStatus.SIGNED),  # two namesakes, nothing to tell them apart
    4: ("Owen Wu", "", "", "", LineStatus.SIGNED),  # not registered; OWEN WUX is one letter off
    5: ("Ann Lee", "", "07001", "9", LineStatus.SIGNED),  # the name fits, the ward vetoes
    6: ("Tess Ali", "", "", "", LineStatus.SIGNED),  # nobody near
    7: ("Bob Smith", "5 Pine Rd", "60601", "", LineStatus.SIGNED),  # a nickname, address and zip confirm
    8: ("Robert Smith", "", "", "", LineStatus.NAME_ONLY),  # not signed: never matched
}


def page(lines: dict[int, tuple[str, str, str, str, LineStatus]] = LINES) -> PageResult:
    ink = InkMeasure(Presence.PRESENT, 0.1, 0.6)
    readings = tuple(
        LineReading(line=number, status=status, name=TextRead(name, 0.99),
                    fields={Role.ADDRESS: TextRead(address, 0.9), Role.ZIP: TextRead(zip_code, 0.9),
                            Role.WARD: TextRead(ward, 0.9)},
                    signature=ink, name_ink=ink, struck=False, needs_review=False, review_reasons=())
        for number, (name, address, zip_code, ward, status) in lines.items())
    return PageResult(ref=PageRef(path="sheet.png", file_name="sheet.png", page=1, kind="image", dpi=0),
                      status=PageStatus.OK, sha256="1e" * 32, lines=readings, roles=(Role.ADDRESS, Role.ZIP, Role.WARD))


def make_workspace(root: Path, voters: str = VOTERS) -> Workspace:
    store = Workspace.open(root)
    store.add_file(sha256=FILE_SHA, name="sheet.png", size=1, kind="image", page_count=1, status="ok")
    store.save_page(FILE_SHA, page())
    path = root.parent / "voters.csv"
    path.write_text(voters, encoding="utf-8")
    import_voter_file(store, path)
    return store
