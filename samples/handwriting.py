"""An honest evaluation set for handwritten names: unseen handwriting fonts, letter-level variation, names of
many origins, and a strict calibration/test split.

Everything here is synthetic: the "handwriting" is rendered from OFL/Apache fonts (samples/fonts/eval/, see the
README there), never from real people's writing, and every name is an invented pairing.

- EVAL_FONTS: split -> font names. The two splits share no font and no font designer; the test split's
  designers appear nowhere else in the project (neither the recognizer's name fonts, its signature fonts nor
  the calibration split), so the test split measures hands the recognizer was never tuned on.
- HandwritingSource: hooks for `render.render_sheet` (people=, pen=, writer=) that write every handwritten
  field glyph by glyph: per-letter size, rotation, baseline walk and spacing jitter, a per-writer slant,
  pen width and ink (black, blue, or pale), spaced capitals, names run together. Signatures keep the
  renderer's own signature path.
- write_handwriting_eval_set(out_dir, count, split=, seed=): sheets + truth.json in the shared format, with
  page keys "split" and the font's "name_style", and line keys "ink" and "spacing".
- repeat_share= (0 by default: no repeats, and the same bytes as before the option existed): about that share of
  the signed lines are people who signed an earlier sheet of the set, written as people vary (the same name, the
  other case, a middle initial added or dropped, a nickname) in that sheet's own hand, with their own address,
  zip and e-mail. truth.json then gives every line with a name a "person" id ("p0042", the same person on every
  sheet however the name is spelt) and a "repeat" key (how the name was varied, "" for a first appearance), so
  the roster's deduplication can be scored (pipeline/roster_eval.py).

A font lacking a glyph never draws a box: a name with a letter the font lacks is written without accents
("Nguyễn Văn An" -> "Nguyen Van An", as people do), and the truth records what was drawn.

    python samples/render.py OUT --handwriting-eval N --split calibration|test [--seed S] [--repeat-share 0.25]
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import string
import unicodedata
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from samples import render

EVAL_FONT_DIR = render.FONT_DIR / "eval"
SPLITS = ("calibration", "test")


@dataclass(frozen=True)
class FontInfo:
    """How an evaluation font's hand looks and where it goes."""

    split: str
    style: str  # "print" (neat, separate, upright letters) or "casual" (scrawl, marker, narrow caps, cursive)
    hand: str  # a few words for the README
    connected: bool = False  # semi-cursive: letters join, so less per-letter jitter and tighter spacing


# Fixed assignment; do not reshuffle (calibration is fit on one side and reported on the other).
# Grouped by designer: all Kimberly Geswein hands (whose Architects Daughter, Indie Flower and Shadows Into Light
# are among the recognizer's own name fonts) and all Font Diner hands (Homemade Apple signs the sheets) go to
# calibration, so the test split holds designers the project has never seen.
EVAL_FONT_INFO: dict[str, FontInfo] = {
    # calibration: neat hand-printing
    "the-girl-next-door": FontInfo("calibration", "print", "wide, neat rounded print"),
    "schoolbell": FontInfo("calibration", "print", "school-style print"),
    "walter-turncoat": FontInfo("calibration", "print", "small-caps marker print"),
    "gaegu": FontInfo("calibration", "print", "rounded print, no accented letters"),
    "shantell-sans": FontInfo("calibration", "print", "bouncy marker print"),
    "yomogi": FontInfo("calibration", "print", "thin, widely spaced print"),
    "delius": FontInfo("calibration", "print", "rounded felt-tip print"),
    # calibration: casual hands
    "nothing-you-could-do": FontInfo("calibration", "casual", "thin slanted ballpoint scrawl"),
    "sue-ellen-francisco": FontInfo("calibration", "casual", "tall, narrow quick hand"),
    "gloria-hallelujah": FontInfo("calibration", "casual", "loopy comic hand"),
    "covered-by-your-grace": FontInfo("calibration", "casual", "condensed marker scrawl"),
    "permanent-marker": FontInfo("calibration", "casual", "bold marker capitals"),
    "rock-salt": FontInfo("calibration", "casual", "rough wide marker capitals"),
    "bad-script": FontInfo("calibration", "casual", "semi-cursive ballpoint", connected=True),
    # test: neat hand-printing
    "coming-soon": FontInfo("test", "print", "neat thin print"),
    "handlee": FontInfo("test", "print", "neat upright print"),
    "pangolin": FontInfo("test", "print", "rounded print"),
    "playpen-sans": FontInfo("test", "print", "teacher's print"),
    "zen-kurenaido": FontInfo("test", "print", "thin brush-pen print"),
    "neucha": FontInfo("test", "print", "narrow upright print"),
    "short-stack": FontInfo("test", "print", "wide, even print"),
    "mali": FontInfo("test", "print", "rounded ballpoint print"),
    # test: casual hands
    "reenie-beanie": FontInfo("test", "casual", "thin quick scribble"),
    "amatic-sc": FontInfo("test", "casual", "tall narrow capitals"),
    "marck-script": FontInfo("test", "casual", "slanted semi-cursive", connected=True),
    "nanum-pen-script": FontInfo("test", "casual", "quick felt-pen hand, no accented letters"),
    "nanum-brush-script": FontInfo("test", "casual", "brush-pen hand, no accented letters"),
    "just-another-hand": FontInfo("test", "casual", "condensed marker capitals"),
}
EVAL_FONTS: dict[str, tuple[str, ...]] = {
    split: tuple(name for name, info in EVAL_FONT_INFO.items() if info.split == split) for split in SPLITS
}

# ---------------------------------------------------------------- names of many origins
# Invented pairings of common given and family names, written the way people write them (accents where they
# use them). Each origin: (given names, family names).


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _items(text: str) -> tuple[str, ...]:
    """Comma-separated entries (names with spaces inside, like 'van der Berg')."""
    return tuple(item.strip() for item in text.replace("\n", " ").split(",") if item.strip())


ORIGINS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "french": (_words("""Hélène François Mathéo Amélie Chloé Léa Zoé Inès Noémie Mélanie Célestine Bérénice Gaëlle
        Joël Noël Anaïs Loïc Gaël Raphaël Jérôme Sébastien Stéphane Frédéric Étienne Thérèse Aurélie Margaux Benoît
        Clémence Océane Maëlys Lucien Théo Cécile Agnès Hervé René Renée Jean-Luc Marie-Ève Anne-Sophie
        Pierre-Yves Jean-François Solène Timothée"""),
               _items("""Lefèvre, Dubois, Girard, Moreau, Fournier, Mercier, Bonnet, Lambert, Fontaine, Rousseau,
        Chevalier, Garnier, Faure, André, Gauthier, Perrin, Brunet, Blanchard, Guérin, Boyer, Lemaître, Bélanger,
        Côté, Gagné, Bouchard, Pelletier, Lévesque, Hébert, Thériault, Leclerc, Ménard, Deschênes, Crépeau,
        Le Gall, Le Roux, de la Fontaine, Saint-Pierre, Bérubé""")),
    "spanish": (_words("""José María Íñigo Álvaro Andrés Sebastián Martín Lucía Inés Raúl Rubén Ramón Jesús Begoña
        Iván Nicolás Julián Adrián Mónica Verónica Sofía Valentín Joaquín Ángela Ángel Héctor Víctor Óscar Pilar
        Rocío Concepción Guillermo Esteban Yolanda Dolores Nuria Alba Xóchitl Araceli Itzel Maite Aitana Génesis
        Yesenia Marisela Alondra"""),
                _items("""Álvarez, Peña, Muñoz, Núñez, Ibáñez, Jiménez, Fernández, Domínguez, Vázquez, Gómez,
        Sánchez, Martínez, Rodríguez, López, García, Pérez, Hernández, González, Díaz, Ramírez, Suárez, Gutiérrez,
        Ordóñez, Méndez, Rincón, Calderón, Beltrán, Quiñones, Cortés, Montaño, Avendaño, Patiño, Zúñiga, Espinoza,
        Salazar, Villanueva, Echeverría, Olmedo, Arrieta, Zapata, de la Torre, De la Cruz, del Río, de León,
        Castañeda, Ceballos""")),
    "portuguese": (_words("""João Conceição Gonçalo Estêvão Sebastião Luís Tânia Vitória Caetano Letícia Patrícia
        Graça Thaís Rafaela Otávio Márcio Débora Cláudia Flávio Fábio Simão Leonor"""),
                   _items("""Gonçalves, Magalhães, Guimarães, Araújo, Simões, Gusmão, Brandão, Falcão, Sousa,
        Ribeiro, Carvalho, Rocha, Lima, Barbosa, Cardoso, Teixeira, Moreira, Nogueira, Assunção, Lourenço, Câmara,
        da Silva, dos Santos, de Souza, da Costa""")),
    "west_african": (_words("""Ngozi Kwabena Aïssatou Mamadou Oluwaseun Chiamaka Chukwuemeka Adaora Obinna Ifeoma
        Babajide Yetunde Olumide Funmilayo Akosua Kwaku Yaw Efua Abena Kojo Adwoa Ousmane Souleymane Fatoumata Awa
        Cheikh Ndèye Babacar Modou Binta Seydou Kadiatou Boubacar Mariama Halima Sékou Lamine Oumar Aminata Ebo
        Temitope Olamide"""),
                     _items("""Okonkwo, Mensah, Diallo, Ndiaye, Adeyemi, Okafor, Nwosu, Eze, Obi, Adebayo, Oyelaran,
        Babatunde, Ogunleye, Afolabi, Akinola, Chukwu, Nnamdi, Asante, Owusu, Boateng, Appiah, Agyeman, Ofori,
        Darko, Quaye, Sow, Ba, Fall, Diop, Sarr, Guèye, Faye, Cissé, Camara, Konaté, Coulibaly, Sissoko, Touré,
        Bamba, Kouyaté, Doumbia, Kanouté, Adeyemi-Bankole, Oyelowo""")),
    "east_african": (_words("""Wanjiru Njeri Achieng Amani Baraka Neema Zawadi Juma Hodan Ayaan Meron Yonas Hiwot
        Liya Dawit Mekdes Selamawit Abdirahman Fadumo Kiprono"""),
                     _items("""Kamau, Njoroge, Wanjiku, Ochieng, Odhiambo, Mutua, Kiprotich, Chebet, Nyambura,
        Gebremedhin, Tadesse, Alemu, Mengistu, Wolde, Asfaw, Warsame, Mohamud, Nuur, Gebreyesus""")),
    "armenian": (_words("""Armen Anahit Tigran Gayane Aram Hasmik Narek Lilit Arpi Vahe Hovhannes Karine Ashot
        Nairi Sevan Garen Talin Ani Davit Shant Siranush Arsen Lusine"""),
                 _items("""Sargsyan, Hovhannisyan, Petrosyan, Grigoryan, Harutyunyan, Khachatryan, Vardanyan,
        Mkrtchyan, Avetisyan, Karapetyan, Ghazaryan, Manukyan, Hakobyan, Babayan, Simonyan, Galstyan, Melkonian,
        Kalajian, Boyajian, Papazian, Der Bedrossian, Tashjian, Arzumanyan""")),
    "chinese": (_words("""Wei Jing Xiaoming Yuxuan Zihan Haoran Xinyi Jiayi Mingyu Shu-fen Chia-hao Yi-ting Guang
        Lei Fang Ying Qiang Hui Xue Zhen Bo Yi Jin Li Tao"""),
                _words("""Li Wu Xu Zhou Sun Ma Hu Guo He Gao Luo Zheng Liang Xie Song Tang Han Feng Deng Cao Yu Lu
        Chan Wong Leung Cheung Ng Tsai Hsu Chiu Lam Yip""")),
    "korean": (_words("""Ji-woo Seo-jun Ha-eun Do-yun Min-seo Eun-ji Sung-min Hye-jin Jae-won Yeon-woo Soo-ah
        Young-ho Kyung-soo"""),
               _words("Lee Cho Yoon Jang Lim Oh Seo Shin Kwon Hwang Ahn Hong Baek Nam Jeon Moon")),
    "japanese": (_words("""Haruka Sota Yui Riku Aoi Ren Hinata Takumi Sakura Kaito Emi Daiki Akiko Hiroshi Keiko
        Shun Natsumi Yuto"""),
                 _words("""Ito Kato Yoshida Yamada Sasaki Matsumoto Inoue Kimura Hayashi Shimizu Yamaguchi Mori
        Ikeda Hashimoto Ishikawa Ogawa Fujita Okada""")),
    "south_asian": (_words("""Aarav Vihaan Ishaan Aditi Diya Saanvi Meera Lakshmi Rajesh Sunita Harpreet Gurpreet
        Manpreet Simran Navdeep Anjali Nikhil Pooja Rahul Sneha Venkatesh Srinivas Padma Tahmina Nusrat Arif Imran
        Shreya Kiran Abhishek"""),
                    _words("""Venkataraman Subramanian Krishnamurthy Chakraborty Bhattacharya Banerjee Mukherjee
        Chatterjee Joshi Kulkarni Patil Pillai Menon Rao Agarwal Malhotra Kapoor Bose Dutta Sandhu Gill Dhillon
        Grewal Bajwa Siddiqui Qureshi Chaudhry Akhtar Hussain Islam Mahmud Perera Fernando Jayasuriya
        Wickramasinghe""")),
    "middle_eastern": (_words("""Mohammed Ahmad Khalid Mahmoud Mustafa Rania Dalia Yasmin Huda Salma Nadia Hind Ziad
        Walid Samir Ghassan Rami Tarek Lina Reem Jana Maha Bashir Faisal Dariush Shirin Parisa Kaveh"""),
                       _items("""Al-Masri, Al-Sayed, El-Amin, Al-Khatib, El-Haddad, Abdallah, Mansour, Najjar,
        Khoury, Aboud, Darwish, Hamdan, Jaber, Barakat, Suleiman, Rahimi, Hosseini, Karimi, Moradi, Tehrani,
        Ahmadi, Farahani, Abu-Zaid""")),
    "turkish": (_words("Zeynep Emre Elif Burak Ayşe Mehmet Şule Gökhan Özlem Çağla Hüseyin Büşra Ömer Can"),
                _words("Yılmaz Öztürk Aydın Özdemir Arslan Doğan Kılıç Aslan Çetin Koç Kurt Güneş Şimşek Korkmaz Uçar")),
    "central_european": (_words("""Łukasz Małgorzata Wojciech Krzysztof Katarzyna Paweł Bożena Jiří Tomáš Lenka
        Petra Jarosław Zdeněk Dušan Miloš Mirela Ivana Branka Željko Dorota Grzegorz Ágnes Zsófia László"""),
                         _words("""Dvořák Nováková Kowalczyk Wójcik Kamiński Lewandowski Szymański Woźniak Dąbrowski
        Kozłowski Jankowski Mazur Krawczyk Procházka Černý Svoboda Horváth Kovačević Petrović Jovanović Đorđević
        Babić Marković Nagy Szabó Tóth Kiss""")),
    "germanic_nordic": (_words("""Jürgen Jörg Günter Søren Åsa Maren Linnea Henrik Mikkel Sigrid Annika Lotte Pieter
        Joost Sanne Bram Femke Jannik Lukas Anneliese Dieter Wiebke Käthe Jens Helga Katrin Björn Ólafur"""),
                        _items("""Müller, Schröder, Köhler, Bäcker, Jäger, Krüger, Hämäläinen, Virtanen, Nieminen,
        Mäkinen, Sørensen, Jørgensen, Åberg, Lindström, Bergström, Nyström, Öberg, van der Berg, van Dijk,
        de Vries, van den Heuvel, de Jong, van Leeuwen, ter Horst, Bakker, Visser, Mulder, Weiß, Großmann""")),
    "italian_greek": (_words("""Niccolò Federica Alessandro Giovanni Beatrice Lorenzo Martina Riccardo Ilaria
        Gianluca Vittoria Salvatore Rosaria Gaetano Domenico Carmela Dimitrios Eleni Konstantinos Georgios
        Katerina Ioanna Nikos Vasiliki Panagiotis"""),
                      _items("""De Luca, Di Stefano, La Rosa, Lo Bianco, Colombo, Ferrari, Greco, Gallo, Conti,
        Mancini, Giordano, Rizzo, Lombardi, Moretti, Barbieri, Santoro, Marino, Caruso, D'Amico, Dell'Orto,
        Papadakis, Konstantinidis, Alexopoulos, Karagiannis, Christodoulou, Vlachos, Oikonomou, Athanasiou""")),
    "irish_scottish": (_words("""Siobhán Seán Máire Aoibheann Caoimhe Oisín Pádraig Éamon Róisín Niall Fionnuala
        Eilidh Mairi Callum Iain Ailsa Lachlan"""),
                       _words("""O'Sullivan O'Reilly O'Donnell O'Malley O'Connor MacDonald McLeod McAllister
        MacKenzie Fitzgerald Kavanagh Flanagan Donnelly Brennan Quigley""")),
    "english": (_words("""Mary-Jane Jo-Anne Lee-Ann Anna-Marie Ashley Brittany Tyler Dustin Courtney Kayla Brandon
        Jessica Kimberly Megan Travis Heather Shawna Cody Bethany Jordan Morgan Wendell Earl Doris Gladys
        Clarence Mildred Vernon"""),
                _words("""Smith-Jones Harrington Whitaker Pemberton Blackwood Abernathy Fairweather Huntington
        Worthington Sutherland Hollingsworth Montgomery Richardson Fitzpatrick Wainwright Ramirez-Cole
        Taylor-Wright Hughes-Okafor Nakamura-Reed Underwood Pennington Thornton""")),
    "filipino": (_words("Maricel Jocelyn Rodel Arnel Jericho Precious Lovely Mylene Reynaldo Analyn Rowena Marites"),
                 _items("""dela Cruz, de los Santos, Bautista, Mercado, Macaraeg, Manalo, Pangilinan, Dimaculangan,
        Tolentino, Soriano, Panganiban, Villareal""")),
    "haitian": (_words("""Widlene Fabiola Nadège Wilner Lovelie Jean-Robert Marie-Ange Guerline Rosemène Jean-Claude
        Fritznel Mirlande"""),
                _words("""Jean-Baptiste Pierre-Louis Saint-Fleur Dorvil Joseph Charles Louis Célestin Desrosiers
        Lamothe Valcourt Désir""")),
    "pacific": (_words("Keala Kalani Noelani Makoa Sione Losa Tevita Mele Kawika Pua"),
                _words("Kahale Akana Fifita Tupou Havili Faleolo Kekumu Mahoe")),
}
# Compound given names written as two words (truth keeps the space).
TWO_WORD_GIVEN = ("Ana María", "José Luis", "Juan Carlos", "María José", "Mary Kate", "Sue Ellen", "Luz Marina",
                  "Maria Fernanda", "Jean Marc", "Anne Marie")
ORIGIN_WEIGHTS = {"french": 8, "spanish": 12, "portuguese": 5, "west_african": 8, "east_african": 4, "armenian": 4,
                  "chinese": 6, "korean": 3, "japanese": 3, "south_asian": 6, "middle_eastern": 5, "turkish": 2,
                  "central_european": 4, "germanic_nordic": 4, "italian_greek": 4, "irish_scottish": 3,
                  "english": 5, "filipino": 3, "haitian": 3, "pacific": 2}
VIETNAMESE_FAMILY = _words("Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý")
VIETNAMESE_MIDDLE = _words("Văn Thị Đức Minh Ngọc Thanh Quốc Hữu Thu")
VIETNAMESE_GIVEN = _words("""An Bình Châu Dũng Hương Hà Khánh Lan Linh Long Mai Nam Phương Quân Thảo Trang Tuấn
    Việt Hạnh Thủy Hiếu Huy Tâm Vy Yến""")
SUFFIXES = ("Jr.", "Sr.", "II", "III")
# Random pairings can land on a well-known person; these are re-drawn (on top of render.FAMOUS_NAMES).
FAMOUS = frozenset({"Tigran Petrosyan", "Armen Sargsyan", "Tigran Sargsyan", "Luis Suárez", "Ana María Pérez",
                    "Ngozi Okonjo", "Kofi Mensah", "Lucía Jiménez", "Martín Fernández", "Daiki Ito", "Zeynep Yılmaz"})


def first_names() -> tuple[str, ...]:
    """Every given name the generator may write (new pool + render.FIRST_NAMES + Vietnamese)."""
    pool = {n for given, _ in ORIGINS.values() for n in given}
    return tuple(sorted(pool | set(TWO_WORD_GIVEN) | set(render.FIRST_NAMES) | set(VIETNAMESE_GIVEN)))


def last_names() -> tuple[str, ...]:
    """Every family name the generator may write."""
    pool = {n for _, family in ORIGINS.values() for n in family}
    return tuple(sorted(pool | set(render.LAST_NAMES) | set(VIETNAMESE_FAMILY)))


def invent_name(rng: random.Random) -> tuple[str, str, bool, str]:
    """(given, family, family_first, origin) in their usual written form, before the writer's casing."""
    roll = rng.random()
    if roll < 0.2:  # the renderer's own (mostly unaccented) pool: what many US petition signers write
        return rng.choice(render.FIRST_NAMES), rng.choice(render.LAST_NAMES), False, "render"
    if roll < 0.26:  # Vietnamese: family-middle-given, or given-family as the diaspora often writes it
        family, middle, given = (rng.choice(VIETNAMESE_FAMILY), rng.choice(VIETNAMESE_MIDDLE),
                                 rng.choice(VIETNAMESE_GIVEN))
        if rng.random() < 0.5:
            return f"{middle} {given}", family, True, "vietnamese"
        return given, family, False, "vietnamese"
    if roll < 0.32:  # mixed families: given and family names from different origins
        a, b = rng.sample(sorted(ORIGINS), 2)
        return rng.choice(ORIGINS[a][0]), rng.choice(ORIGINS[b][1]), False, "mixed"
    origin = rng.choices(list(ORIGIN_WEIGHTS), weights=list(ORIGIN_WEIGHTS.values()))[0]
    given_pool, family_pool = ORIGINS[origin]
    given, family = rng.choice(given_pool), rng.choice(family_pool)
    if origin == "spanish":
        if rng.random() < 0.12:
            given = rng.choice(TWO_WORD_GIVEN[:4])
        if rng.random() < 0.25 and " " not in family:  # two surnames, as written in Spain and Latin America
            second = rng.choice([f for f in family_pool if " " not in f and f != family])
            family = f"{family} {second}"
    elif origin == "english" and rng.random() < 0.15:
        given = rng.choice(TWO_WORD_GIVEN[4:6])
    return given, family, False, origin


# ---------------------------------------------------------------- glyph coverage


@lru_cache(maxsize=64)
def eval_font(name: str, px: int) -> ImageFont.FreeTypeFont:
    """An evaluation font at a pixel size."""
    return ImageFont.truetype(str(EVAL_FONT_DIR / f"{name}.woff"), max(4, px))


def _font_path(name: str) -> Path:
    path = EVAL_FONT_DIR / f"{name}.woff"
    return path if path.exists() else render.FONT_DIR / f"{name}.woff"


@lru_cache(maxsize=64)
def _coverage_font(path: str) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, 48)


def _shape(font: ImageFont.FreeTypeFont, text: str) -> tuple[tuple[int, int], bytes]:
    mask = font.getmask(text)
    return mask.size, bytes(mask)


@lru_cache(maxsize=None)
def has_glyph(font_name: str, char: str) -> bool:
    """True if the font (eval or render font, by name) draws char as something other than its missing-glyph box."""
    if char.isspace():
        return True
    font = _coverage_font(str(_font_path(font_name)))
    return _shape(font, char) != _shape(font, "\U0010fffd")  # a private-use code point: always .notdef


_FALLBACK = {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ß": "ss", "ẞ": "SS", "æ": "ae",
             "Æ": "AE", "œ": "oe", "Œ": "OE", "ı": "i", "İ": "I", "\u2019": "'"}


def _plainer(char: str) -> str | None:
    """The same letter with one diacritic fewer (ễ -> ê -> e), or a plain substitute; None if already plain."""
    if char in _FALLBACK:
        return _FALLBACK[char]
    parts = unicodedata.normalize("NFD", char)
    if len(parts) == 1:
        return None
    return unicodedata.normalize("NFC", parts[:-1])


def drawable(text: str, *fonts: str) -> str:
    """text as the given fonts can draw it: if they lack one of its letters, the whole text is written without
    accents (as people do: "Đỗ Văn" -> "Do Van", not "Dô Văn"), and anything still missing falls back letter
    by letter.

    What this returns is exactly what gets drawn, so it is what the truth must say."""
    text = unicodedata.normalize("NFC", text)
    if not all(has_glyph(f, c) for c in text for f in fonts):
        text = unicodedata.normalize("NFC", ascii_fold(text))
    return _fallback(text, fonts)


def _fallback(text: str, fonts: tuple[str, ...]) -> str:
    """Each letter the fonts lack replaced by the nearest plainer letter they all have."""
    out = []
    for char in text:
        pending = [char]
        done = ""
        while pending:
            c = pending.pop(0)
            if all(has_glyph(f, c) for f in fonts):
                done += c
                continue
            plainer = _plainer(c)
            if plainer is None:
                raise ValueError(f"no drawable form of {c!r} in {fonts}")
            pending = list(plainer) + pending
        out.append(done)
    return "".join(out)


def ascii_fold(text: str) -> str:
    """Accents removed (e-mail addresses, and names a font cannot draw with their accents)."""
    text = "".join(_FALLBACK.get(c, c) for c in text)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


# ---------------------------------------------------------------- letter-level writing

_REF_PX = 256  # glyphs are rendered once at this size and scaled per letter
_SUPER = 2  # composition happens at 2x, then is box-reduced: smooth edges and half-pixel stroke control


@dataclass(frozen=True)
class _Glyph:
    mask: Image.Image  # coverage at _REF_PX, with a small margin
    ox: float  # pen origin (left end of the baseline) inside mask
    oy: float
    advance: float  # at _REF_PX


@lru_cache(maxsize=4096)
def _glyph(font_name: str, char: str) -> _Glyph:
    font = eval_font(font_name, _REF_PX)
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    pad = 3  # rotation and slant expand the mask later (_tilt), so a tight box is enough here
    mask = Image.new("L", (int(x1 - x0) + 2 * pad + 1, int(y1 - y0) + 2 * pad + 1), 0)
    ImageDraw.Draw(mask).text((pad - x0, pad - y0), char, font=font, fill=255, anchor="ls")
    return _Glyph(mask, pad - x0, pad - y0, font.getlength(char))


@lru_cache(maxsize=4096)
def _kern(font_name: str, pair: str) -> float:
    """Pair kerning at _REF_PX (negative: tighter)."""
    font = eval_font(font_name, _REF_PX)
    return font.getlength(pair) - font.getlength(pair[0]) - font.getlength(pair[1])


@lru_cache(maxsize=64)
def cap_ratio(font_name: str) -> float:
    """Cap height of an eval font as a fraction of its pixel size."""
    _, top, _, bottom = eval_font(font_name, 200).getbbox("H", anchor="ls")
    return (bottom - top) / 200


@lru_cache(maxsize=64)
def stroke_ratio(font_name: str) -> float:
    """The font's own stroke thickness as a fraction of its cap height (2 * area / perimeter of sample text)."""
    font = eval_font(font_name, 200)
    text = "Hamburg Quiz"
    x0, y0, x1, y1 = font.getbbox(text)
    mask = Image.new("L", (int(x1) + 10, int(y1) + 10), 0)
    ImageDraw.Draw(mask).text((5, 5), text, font=font, fill=255)
    ink = (np.asarray(mask) > 127).astype(np.uint8)
    contours, _ = cv2.findContours(ink, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2 * float(ink.sum()) / max(perimeter, 1.0) / (cap_ratio(font_name) * 200)


@dataclass(frozen=True)
class Hand:
    """One writer on one line: pen, slant, size and spacing habits."""

    ink: str  # "black", "blue" or "pale"
    gray: int
    pen_mm: float  # stroke width on paper
    slant: float  # shear, dx per dy (negative leans left)
    size: float  # writes this much larger/smaller than the box suggests
    tracking: float  # extra gap between letters, in cap heights
    spacing: str  # "normal", "spaced_caps" (block capitals with wide gaps) or "run_together"


def _blue_gray(rng: random.Random) -> int:
    """A blue ballpoint's RGB turned to gray the way a scanner does it (ITU-R 601 luma), kept to 60-110."""
    r, g, b = rng.randint(20, 70), rng.randint(50, 110), rng.randint(150, 230)
    return min(110, max(60, round(0.299 * r + 0.587 * g + 0.114 * b)))


def compose(font_name: str, text: str, size_px: float, hand: Hand, rng: random.Random,
            pen_px: float, gap_scale: float = 1.0) -> render.Ink:
    """Write text glyph by glyph into a coverage mask at 1x (with its baseline y).

    gap_scale shrinks the wide gaps of spaced capitals (what a writer does when the box gets short)."""
    info = EVAL_FONT_INFO[font_name]
    jitter = 0.4 if info.connected else 1.0
    scale = size_px * _SUPER / _REF_PX
    cap = cap_ratio(font_name) * size_px * _SUPER
    spaced = hand.spacing == "spaced_caps"
    letter_gap = hand.tracking * cap + (rng.uniform(0.35, 0.8) * cap * gap_scale if spaced else 0.0)
    space_w = eval_font(font_name, _REF_PX).getlength(" ") * scale
    # A wider pen than the font's own stroke grows every letter; the writer's letters keep their spacing.
    grow = max(0.0, pen_px - stroke_ratio(font_name) * cap_ratio(font_name) * size_px) * _SUPER * 0.6
    placed: list[tuple[np.ndarray, int, int]] = []
    x, walk, prev = 0.0, 0.0, ""
    for char in text:
        if char == " ":
            if hand.spacing == "run_together":  # first and last name close together: still a space in truth
                x += space_w * rng.uniform(0.4, 0.6)
            elif spaced:
                x += letter_gap + rng.uniform(0.9, 1.4) * cap * max(gap_scale, 0.6)
            else:
                x += space_w * rng.uniform(0.8, 1.35)
            prev = ""
            continue
        glyph = _glyph(font_name, char)
        k = scale * rng.uniform(0.92, 1.08)
        w, h = max(1, round(glyph.mask.width * k)), max(1, round(glyph.mask.height * k))
        mask = glyph.mask.resize((w, h), Image.Resampling.BILINEAR)
        mask, ox, oy = _tilt(mask, glyph.ox * k, glyph.oy * k, rng.uniform(-4.0, 4.0) * jitter, hand.slant)
        walk = 0.7 * walk + rng.gauss(0.0, 0.025 * cap * jitter)
        walk = max(-0.08 * cap, min(0.08 * cap, walk))
        if prev:
            x += _kern(font_name, prev + char) * scale
        arr = np.asarray(mask, dtype=np.float32) * (rng.uniform(0.82, 1.0) / 255.0)
        placed.append((arr, round(x - ox), round(walk - oy)))
        x += glyph.advance * k + letter_gap + grow + rng.gauss(0.0, 0.035 * cap * jitter)
        if info.connected:
            x -= rng.uniform(0.0, 0.04) * cap  # joined letters touch or overlap a little
        prev = char
    if not placed:
        return render.Ink(Image.new("L", (1, 1), 0), 0.0)
    left = min(px for _, px, _ in placed)
    top = min(py for _, _, py in placed)
    right = max(px + a.shape[1] for a, px, _ in placed)
    bottom = max(py + a.shape[0] for a, _, py in placed)
    pad = 4 * _SUPER + round(pen_px * _SUPER)
    canvas = np.zeros((bottom - top + 2 * pad, right - left + 2 * pad), dtype=np.float32)
    for arr, px, py in placed:
        y0, x0 = py - top + pad, px - left + pad
        region = canvas[y0:y0 + arr.shape[0], x0:x0 + arr.shape[1]]
        np.maximum(region, arr, out=region)
    canvas = _pen_width(canvas, font_name, size_px, pen_px)
    mask = Image.fromarray(np.clip(canvas * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    return render.Ink(mask.reduce(_SUPER), float(pad - top) / _SUPER)


def _tilt(mask: Image.Image, ox: float, oy: float, degrees: float, slant: float
          ) -> tuple[Image.Image, float, float]:
    """Rotate a glyph (counter-clockwise) and lean it by slant (dx per dy, right for > 0) about its pen origin
    (ox, oy) in one resampling; returns the new mask and where the origin went."""
    t = math.radians(degrees)
    # Forward map, y down: rotate, then shear x by -slant * y (ink above the baseline moves right).
    a, b = math.cos(t) + slant * math.sin(t), math.sin(t) - slant * math.cos(t)
    c, d = -math.sin(t), math.cos(t)
    corners = [(x - ox, y - oy) for x in (0, mask.width) for y in (0, mask.height)]
    xs = [a * u + b * v for u, v in corners]
    ys = [c * u + d * v for u, v in corners]
    x0, y0 = math.floor(min(xs)), math.floor(min(ys))
    size = (math.ceil(max(xs)) - x0 + 1, math.ceil(max(ys)) - y0 + 1)
    det = a * d - b * c
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det  # inverse: output -> input
    data = (ia, ib, ox + ia * x0 + ib * y0, ic, id_, oy + ic * x0 + id_ * y0)
    out = mask.transform(size, Image.Transform.AFFINE, data, resample=Image.Resampling.BILINEAR)
    return out, float(-x0), float(-y0)


def _pen_width(canvas: np.ndarray, font_name: str, size_px: float, pen_px: float) -> np.ndarray:
    """Grow or thin the strokes (at 2x) toward the pen's width; thin strokes are never eroded away."""
    native = stroke_ratio(font_name) * cap_ratio(font_name) * size_px  # px at 1x
    delta = pen_px - native
    delta = max(delta, -0.45 * native)
    radius = round(delta * _SUPER / 2)  # each side
    if radius == 0:
        return canvas
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(radius) + 1, 2 * abs(radius) + 1))
    return cv2.dilate(canvas, kernel) if radius > 0 else cv2.erode(canvas, kernel)


# ---------------------------------------------------------------- people who sign again

# Short forms of given names in the pools above, as a repeat signer may write them. All are in the `nicknames`
# package's table (what the roster's matcher consults), except OTHER_SHORT_FORMS: common ones it lacks, which
# people write all the same.
NICKNAMES = {
    "Aaron": "Ron", "Abigail": "Abby", "Beatrice": "Bea", "Brittany": "Britt", "Caleb": "Cal", "David": "Dave",
    "Débora": "Debbie", "Emily": "Emmy", "Evelyn": "Eve", "Gabriel": "Gabe", "Henry": "Hank", "Isaac": "Ike",
    "Jessica": "Jess", "Jo-Anne": "Jo", "Julián": "Jules", "Kimberly": "Kim", "Leilani": "Lani", "Lucas": "Luke",
    "Lucia": "Lucy", "Lucía": "Lucy", "Martín": "Marty", "Martina": "Tina", "Megan": "Meg", "Miriam": "Mimi",
    "Natasha": "Tasha", "Nicolás": "Nico", "Olivia": "Ollie", "Patrícia": "Patty", "Rebecca": "Becky",
    "Samuel": "Sam", "Sebastián": "Seb", "Valentina": "Val", "Víctor": "Vic", "Ángela": "Angie", "Ashley": "Ash",
    "Emma": "Em", "Esther": "Essie", "Giovanni": "Gio", "Kayla": "Kay", "Miguel": "Mike", "Mildred": "Milly",
    "Rafaela": "Rafa", "Verónica": "Ronnie",
}
OTHER_SHORT_FORMS = {
    "Alejandro": "Alex", "Alessandro": "Sandro", "Concepción": "Concha", "Dmitri": "Dima", "Dolores": "Lola",
    "Francesca": "Frankie", "Frédéric": "Fred", "Guadalupe": "Lupe", "Guillermo": "Memo", "Javier": "Javi",
    "Jesús": "Chuy", "Jose": "Pepe", "José": "Pepe", "Katarzyna": "Kasia", "Małgorzata": "Gosia", "Matteo": "Matt",
    "Tomáš": "Tom",
}
SHORT_FORMS = {**render._NICKNAMES, **NICKNAMES, **OTHER_SHORT_FORMS}  # noqa: SLF001
# How a repeat signer's name differs from their first signature (weights). Only about one signer in fourteen has
# a given name with a short form here, so the nickname kind brings those few back more often than others.
REPEAT_KINDS = {"same": 30, "case": 25, "middle": 25, "nickname": 20}


def _cased(first_part: str, last_part: str, case: str, family_first: bool) -> str:
    if case in ("caps", "spaced_caps"):
        first_part, last_part = first_part.upper(), last_part.upper()
    elif case == "lower":
        first_part, last_part = first_part.lower(), last_part.lower()
    elif case == "mixed" and not family_first:  # "Maria GARCIA": the family name in capitals
        last_part = last_part.upper()
    return f"{first_part} {last_part}"


@dataclass
class Signer:
    """One invented person of a set: the parts of their name, the case they wrote it in, and their address, zip
    and e-mail as first written. `id` ("p0042") is given when a line of theirs first carries their name."""

    given: str
    family: str
    family_first: bool
    middle: str  # " R.", " R" or ""
    suffix: str  # " Jr." or ""
    case: str  # as_is, caps, spaced_caps, lower or mixed
    fields: dict[str, str] = field(default_factory=dict)
    id: str = ""

    def written(self) -> str:
        """The name as this writer writes it (before the font's glyph check)."""
        if self.family_first:
            return _cased(self.family, self.given, self.case, True)
        return _cased(self.given + self.middle, self.family + self.suffix, self.case, False)

    def can_vary(self, kind: str, connected: bool) -> bool:
        """Whether `kind` makes a visible change for this person in a hand (connected: no block capitals)."""
        if kind == "case":
            return not (connected and self.case == "as_is")  # a joined-up hand writes no block capitals
        if kind == "middle":
            return not self.family_first
        if kind == "nickname":
            return not self.family_first and self.given in SHORT_FORMS
        return True

    def varied(self, kind: str, rng: random.Random, *, connected: bool) -> Signer:
        """How they write their name on another sheet: `kind` of REPEAT_KINDS, in a hand that may be connected."""
        out = replace(self, fields=self.fields)
        if kind == "case":  # capitals become mixed case, anything else capitals
            out.case = ("mixed" if rng.random() < 0.3 else "as_is") if self.case in ("caps", "spaced_caps") else "caps"
        elif kind == "middle" and self.middle:
            out.middle = ""
        elif kind == "middle":
            out.middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.8 else f" {rng.choice('ACDJMRS')}"
        elif kind == "nickname":
            out.given = SHORT_FORMS[self.given]
        if connected and out.case != "lower":
            out.case = "as_is"  # as in HandwritingSource.person: no joined-up block capitals
        return out


class Repeats:
    """Who signs again across one set: on every sheet after the first, each line is, with probability `chance`,
    someone who signed an earlier sheet (not yet on this one), varied by a REPEAT_KINDS kind that applies to them.
    Draws come from its own rng, so the sheets' own draws stay as they were."""

    def __init__(self, chance: float, rng: random.Random) -> None:
        self.chance = chance
        self.rng = rng
        self.pool: list[Signer] = []  # everyone who signed a sheet so far, in order
        self._pooled: set[str] = set()
        self._here: set[str] = set()  # ids already on the sheet being written
        self._returns: dict[str, int] = {}  # id -> times picked to come back
        self._count = 0

    def pick(self, font_name: str) -> tuple[Signer, str] | None:
        if not self.pool or self.rng.random() >= self.chance:
            return None
        connected = EVAL_FONT_INFO[font_name].connected
        kind = self.rng.choices(list(REPEAT_KINDS), weights=list(REPEAT_KINDS.values()))[0]
        free = [s for s in self.pool if s.id not in self._here]
        fits = [s for s in free if s.can_vary(kind, connected)]
        if not fits:
            kind, fits = "same", free
        if not fits:
            return None
        # Someone who came back already is less likely to again: no one piles up sightings (pairs grow as n^2).
        signer = self.rng.choices(fits, weights=[1 / (1 + self._returns.get(s.id, 0)) ** 3 for s in fits])[0]
        self._returns[signer.id] = self._returns.get(signer.id, 0) + 1
        self._here.add(signer.id)
        return signer, kind

    def settle(self, truth: render.SheetTruth, source: HandwritingSource) -> None:
        """After a sheet: a person id (and repeat kind) on every line with a name; its signers join the pool."""
        for line, extra, (signer, kind) in zip(truth.lines, source.lines, source.signers, strict=True):
            if line.name and not signer.id:
                self._count += 1
                signer.id = f"p{self._count:04d}"
            extra["person"], extra["repeat"] = (signer.id, kind) if line.name else ("", "")
            if line.status == "signed" and signer.id not in self._pooled:
                self._pooled.add(signer.id)
                self.pool.append(signer)
        self._here = set()


# ---------------------------------------------------------------- hooks for render.render_sheet


class HandwritingSource:
    """The people=, pen= and writer= hooks of render.render_sheet, sharing one writer's state per line.

    render_sheet calls, for each form line in order: people() once, pen() once, then writer() for the name and
    each field. `lines` records each line's ink and spacing (for the truth file). With `repeats`, some lines are
    people who signed an earlier sheet, and `signers` records each line's person and repeat kind ("" if new)."""

    def __init__(self, dpi: int, repeats: Repeats | None = None) -> None:
        self.dpi = dpi
        self._spacing = "normal"
        self._name = ""
        self._hand: Hand | None = None
        self._repeats = repeats
        self.lines: list[dict[str, str]] = []
        self.signers: list[tuple[Signer, str]] = []

    # people(rng, roles, font_name) -> Person
    def person(self, rng: random.Random, roles: tuple[str, ...], font_name: str) -> render.Person:
        given, family, family_first, origin = invent_name(rng)
        while f"{given} {family}" in render.FAMOUS_NAMES or f"{given} {family}" in FAMOUS:
            given, family, family_first, origin = invent_name(rng)
        roll = rng.random()
        middle = ""
        if not family_first and roll < 0.12:
            middle = f" {rng.choice('ABCDEFGHJKLMNPRSTW')}." if rng.random() < 0.8 else f" {rng.choice('ACDJMRS')}"
        suffix = f" {rng.choice(SUFFIXES)}" if origin in ("render", "english") and rng.random() < 0.06 else ""
        case = rng.choices(("as_is", "caps", "spaced_caps", "lower", "mixed"), weights=(52, 28, 8, 5, 7))[0]
        if EVAL_FONT_INFO[font_name].connected and case != "lower":
            case = "as_is"  # nobody joins up block capitals: semi-cursive writers write names as they are
        signer = Signer(given, family, family_first, middle, suffix, case)
        name = drawable(signer.written(), font_name)
        self._spacing = ("spaced_caps" if case == "spaced_caps" else
                         "run_together" if rng.random() < 0.08 else "normal")
        self._name = name
        signature = self._signature(rng, name, suffix)
        written = {role: self._field(rng, role, given, family, case) for role in roles}
        person = render.Person(name, signature, {role: drawable(v, font_name) for role, v in written.items()})
        if self._repeats is None:
            return person
        signer.fields.update({role: value for role, value in written.items() if role != "date"})
        chosen = self._repeats.pick(font_name)
        if chosen is None:
            self.signers.append((signer, ""))
            return person
        return self._again(*chosen, person, roles, font_name)

    def _signature(self, rng: random.Random, name: str, suffix: str) -> str:
        signature = name.title() if name.isupper() else name
        if rng.random() < 0.35:  # "J. Rousseau": an initial and the family name (never the suffix)
            words = signature.split()
            family_word = words[-2] if suffix and len(words) > 2 else words[-1]
            signature = f"{words[0][0]}. {family_word}"
        return drawable(signature, *render.SIGNATURE_FONTS)

    def _again(self, signer: Signer, kind: str, fresh: render.Person, roles: tuple[str, ...],
               font_name: str) -> render.Person:
        """`signer` (who signed an earlier sheet) writes this line, varied by `kind`; the date is this line's own,
        the address, zip and e-mail theirs (an e-mail is sometimes left out)."""
        assert self._repeats is not None
        rng = self._repeats.rng
        written = signer.varied(kind, rng, connected=EVAL_FONT_INFO[font_name].connected)
        name = drawable(written.written(), font_name)
        self._spacing = ("spaced_caps" if written.case == "spaced_caps" else
                         "run_together" if rng.random() < 0.08 else "normal")
        self._name = name
        signature = self._signature(rng, name, written.suffix)
        caps = written.case in ("caps", "spaced_caps")
        fields = {}
        for role in roles:
            if role == "date":
                fields[role] = fresh.fields[role]
                continue
            if role not in signer.fields:  # first time this person is asked for it
                signer.fields[role] = self._field(rng, role, signer.given, signer.family, "as_is")
            value = signer.fields[role]
            if role == "address":
                value = value.upper() if caps else string.capwords(value) if value.isupper() else value
            elif role == "email" and value and rng.random() < 0.1:
                value = ""
            fields[role] = drawable(value, font_name)
        self.signers.append((signer, kind))
        return render.Person(name, signature, fields)

    def _field(self, rng: random.Random, role: str, given: str, family: str, case: str) -> str:
        caps = case in ("caps", "spaced_caps")
        if role == "address":
            unit = f" #{rng.randint(1, 40)}" if rng.random() < 0.12 else ""
            value = f"{rng.randint(1, 9999)} {rng.choice(render.STREETS)} {rng.choice(render.STREET_KINDS)}{unit}"
            return value.upper() if caps else value
        if role == "zip":
            roll = rng.random()
            if roll < 0.17:  # New England and New Jersey: a leading zero (02139, 07030)
                return f"0{rng.randint(1001, 8999):04d}"
            if roll < 0.2:  # Puerto Rico: two leading zeros
                return f"00{rng.randint(601, 988):03d}"
            return f"{rng.randint(10000, 99950):05d}"
        if role == "date":
            month, day = rng.randint(1, 3), rng.randint(1, 28)
            return f"{month:02d}/{day:02d}/26" if rng.random() < 0.2 else f"{month}/{day}/26"
        if role == "email":
            first = ascii_fold(given.split()[0]).lower()
            last = ascii_fold(family.split()[-1]).lower()
            local = "".join(c for c in f"{first}.{last}" if c.isalnum() or c == ".")
            if rng.random() < 0.35:
                local = "".join(c for c in f"{first[0]}{last}" if c.isalnum()) + str(rng.randint(1, 99))
            return "" if rng.random() < 0.15 else f"{local}@{rng.choice(render.EMAIL_DOMAINS)}"
        raise ValueError(f"unknown field role {role!r}")

    # pen(rng, dpi) -> (gray, stroke): the line's ink, also used for its signature and strike-through
    def pen(self, rng: random.Random, dpi: int) -> tuple[int, int]:
        roll = rng.random()
        if roll < 0.1:  # a pale, thin stroke: a dying pen or light pencil-like pressure (the hard case for ink)
            ink, gray, pen_mm = "pale", rng.randint(120, 170), rng.uniform(0.18, 0.3)
        else:
            ink = "black" if roll < 0.58 else "blue"
            gray = rng.randint(10, 50) if ink == "black" else _blue_gray(rng)
            kind = rng.random()
            pen_mm = (rng.uniform(0.3, 0.5) if kind < 0.7 else rng.uniform(0.6, 0.85) if kind < 0.88
                      else rng.uniform(0.22, 0.3))
        hand = Hand(ink, gray, pen_mm, slant=rng.uniform(-0.1, 0.35) if rng.random() < 0.85 else 0.0,
                    size=rng.uniform(0.9, 1.1), tracking=rng.uniform(-0.04, 0.12), spacing=self._spacing)
        self._hand = hand
        self.lines.append({"ink": ink, "spacing": self._spacing})
        return gray, 0

    # writer(page, rng, font_name, text, cell, cap_frac, gray, stroke): same signature as render._write_text
    def write(self, page: Image.Image, rng: random.Random, font_name: str, text: str, cell: render.Box,
              cap_frac: float, gray: int, stroke: int) -> None:
        hand = self._hand
        if hand is None:
            raise RuntimeError("pen() must run before write()")
        if drawable(text, font_name) != text:
            raise ValueError(f"{font_name} cannot draw {text!r} as written; the truth would be wrong")
        if text != self._name and hand.spacing != "normal":
            hand = replace(hand, spacing="normal")  # spaced capitals and run-together words: the name only
        margin = 0.06 * cell.h + 4
        size = cell.h * cap_frac / cap_ratio(font_name) * hand.size * rng.uniform(0.95, 1.05)
        pen_px = hand.pen_mm / 25.4 * self.dpi
        room = cell.w - 2 * margin
        gap_scale = 1.0
        for _ in range(6):
            ink = compose(font_name, text, size, hand, rng, pen_px, gap_scale)
            if ink.mask.width <= room:
                break
            # People squeeze a long name into the box: narrower gaps between spaced capitals first, then
            # smaller letters written with the same pen (so the stroke keeps its width).
            if hand.spacing == "spaced_caps" and gap_scale > 0.2:
                gap_scale *= 0.5
            else:
                size *= room / ink.mask.width * 0.98
        else:
            factor = room / ink.mask.width
            mask = ink.mask.resize((max(1, round(ink.mask.width * factor)), max(1, round(ink.mask.height * factor))),
                                   Image.Resampling.LANCZOS)
            ink = render.Ink(mask, ink.baseline * factor)
            size *= factor
        cap = cap_ratio(font_name) * size
        ink = render._rotated(ink, rng.uniform(-2.0, 2.0))
        slack = max(0.0, cell.w - 2 * margin - ink.mask.width)
        x = cell.x0 + margin + slack * rng.uniform(0.0, 0.35)
        baseline = cell.y0 + (cell.h + cap) / 2 + rng.uniform(-0.06, 0.1) * cell.h
        render._stamp(page, ink.mask, x, baseline - ink.baseline, gray)


def render_handwriting_sheet(layout: str, *, seed: int, font: str, dpi: int = 300, repeats: Repeats | None = None
                             ) -> tuple[Image.Image, render.SheetTruth, list[dict[str, str]]]:
    """One clean sheet written with an eval font; returns (image, truth, per-line ink/spacing, and with
    `repeats` the line's person id and repeat kind)."""
    if font not in EVAL_FONT_INFO:
        raise ValueError(f"unknown eval font {font!r}")
    source = HandwritingSource(dpi, repeats)
    image, truth = render.render_sheet(layout, seed=seed, name_font=font, dpi=dpi, name_fonts=(font,),
                                       people=source.person, pen=source.pen, writer=source.write)
    if repeats is not None:
        repeats.settle(truth, source)
    return image, truth, source.lines


# ---------------------------------------------------------------- the evaluation set


def _sheet_seed(split: str, seed: int, index: int) -> int:
    """Sheet seeds of the two splits (and of other sets) never coincide: no shared names or form draws."""
    digest = hashlib.sha256(f"handwriting-eval:{split}:{seed}:{index}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


def page_json(page: int, truth: render.SheetTruth, split: str, lines: list[dict[str, str]]) -> dict[str, object]:
    doc = render._page_json(page, truth)
    doc["name_style"] = EVAL_FONT_INFO[truth.name_font].style
    doc["split"] = split
    for line, extra in zip(doc["lines"], lines):  # type: ignore[arg-type]
        line["ink"] = extra["ink"]  # also the ink of the line's signature, strike or stray mark
        line["spacing"] = extra["spacing"] if line["name"] else ""
        if "person" in extra:  # sets with repeat signers only
            line["person"], line["repeat"] = extra["person"], extra["repeat"]
    return doc


def write_handwriting_eval_set(out_dir: Path, count: int, *, split: str, seed: int = 1,
                               repeat_share: float = 0.0) -> list[Path]:
    """count sheets written only with the split's fonts (cycling layouts and fonts), degraded like a real
    intake (skew, quarter turns, noise, blur, shadow, ~20% phone photos, 200/300 dpi) + truth.json.

    repeat_share > 0: about that share of the signed lines are people who signed an earlier sheet (none on the
    first sheet, so later sheets get a little more), and truth.json gains per-line "person" and "repeat" keys."""
    if split not in EVAL_FONTS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    if not 0.0 <= repeat_share < 1.0:
        raise ValueError(f"repeat_share must be in [0, 1), not {repeat_share}")
    repeats = None
    if repeat_share > 0 and count > 1:
        chance = min(1.0, repeat_share * count / (count - 1))
        repeats = Repeats(chance, random.Random(f"handwriting-eval-repeats:{split}:{seed}:{repeat_share}"))
    fonts = EVAL_FONTS[split]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"handwriting-eval:{split}:{seed}")
    pages: dict[str, dict[str, object]] = {}
    paths = []
    for i in range(count):
        layout = render.LAYOUTS[i % len(render.LAYOUTS)]
        font = fonts[(i // len(render.LAYOUTS)) % len(fonts)]
        sheet_seed = _sheet_seed(split, seed, i)
        photo = rng.random() < 0.2
        options = dict(skew_deg=0.0 if photo else round(rng.uniform(-8.0, 8.0), 1),
                       rotate_quarters=0 if photo else rng.choice((0,) * 9 + (1, 2, 3)),  # a quarter turned
                       noise=rng.random() < 0.5, blur=rng.random() < 0.3, shadow=rng.random() < 0.3, photo=photo)
        dpi = rng.choice((200, 300))
        image, truth, lines = render_handwriting_sheet(layout, seed=sheet_seed, font=font, dpi=dpi, repeats=repeats)
        image, truth = render.degrade(image, truth, seed=sheet_seed % 2**32, **options)  # type: ignore[arg-type]
        name = f"hw_{split}_{i + 1:04d}_{layout}.{'jpg' if photo else 'png'}"
        if photo:
            image.save(out_dir / name, quality=80)
            truth = render._jpeg(truth, 80)
        else:
            image.save(out_dir / name, dpi=(truth.dpi, truth.dpi))
        pages[name] = {"pages": [page_json(1, truth, split, lines)]}
        paths.append(out_dir / name)
    doc: dict[str, object] = {"version": 1, "split": split, "seed": seed}
    if repeat_share > 0:
        doc["repeat_share"] = repeat_share
    doc["files"] = pages
    (out_dir / "truth.json").write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return paths
