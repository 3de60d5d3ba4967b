"""A realistic, deterministic demo catalog (`poetry run seed`), from 240 books to millions.

The same `books` count always produces the same authors, genres, titles, ISBNs, prices,
stock and popularity; release dates are relative to the day of seeding (so there are
always upcoming releases). Running it again adds only what is missing, so it is
idempotent, and a larger `--books` extends a smaller catalog. Authors grow with the
catalog (one per eight books), some books have two, and each has one to three genres.

Large catalogs are bulk-loaded (`COPY` into staging tables, one `INSERT ... SELECT` that
also builds the search documents), with the catalog's triggers off and, for a load larger
than the catalog it extends, its secondary indexes dropped and rebuilt once at the end.
The search vocabulary is recounted once, and the tables analyzed (`poetry run seed` then
vacuums them, once committed).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.books.repository import SeedRepository

DEFAULT_BOOKS = 240
MIN_AUTHORS = 80
CHUNK = 20_000  # books generated, checked for and staged at a time
# A load this large, and larger than the catalog it extends, rebuilds the secondary indexes
# once at the end instead of maintaining them row by row.
REBUILD_INDEXES_FROM = 50_000
BOOKS_PER_AUTHOR = 8
INITIALS = "ABCDEFGHJKLMNOPRSTVW"

GENRES = [
    ("Fantasy", "Dragons, magic and other worlds."),
    ("Science Fiction", "Futures, space and what technology does to us."),
    ("Mystery", "Whodunits and detectives."),
    ("Thriller", "Suspense from the first page."),
    ("Romance", "Love stories."),
    ("Historical Fiction", "Stories set in the past."),
    ("Literary Fiction", "Character-driven prose."),
    ("Horror", "Things that go bump in the night."),
    ("Biography", "Lives, told by others."),
    ("Memoir", "Lives, told by themselves."),
    ("History", "What happened, and why."),
    ("Science", "How the world works."),
    ("Philosophy", "Questions without easy answers."),
    ("Poetry", "Verse."),
    ("Young Adult", "Coming of age."),
    ("Children", "For young readers."),
    ("Travel", "Places and journeys."),
    ("Cooking", "Recipes and food writing."),
]
FIRST_NAMES = [
    "Ada",
    "Alan",
    "Alice",
    "Amara",
    "Anton",
    "Beatrix",
    "Bram",
    "Carmen",
    "Chidi",
    "Clara",
    "Dmitri",
    "Edith",
    "Elena",
    "Emeka",
    "Farah",
    "Felix",
    "Greta",
    "Hana",
    "Hugo",
    "Ines",
    "Isaac",
    "Jonas",
    "Julia",
    "Kenji",
    "Lena",
    "Leo",
    "Lucia",
    "Malik",
    "Margit",
    "Mateo",
    "Mira",
    "Nadia",
    "Nils",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Rosa",
    "Sanna",
    "Tomas",
    "Ursula",
    "Viktor",
    "Wanjiru",
    "Yusuf",
    "Zofia",
]
LAST_NAMES = [
    "Abara",
    "Bergström",
    "Castellano",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Haddad",
    "Ishikawa",
    "Jovanović",
    "Kowalski",
    "Lindqvist",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Sato",
    "Tanaka",
    "Umarov",
    "Varga",
    "Whitfield",
    "Xu",
    "Yamamoto",
    "Zielinski",
    "Achebe",
    "Brontë",
    "Calvino",
    "Duras",
    "Ellison",
    "Fitzgerald",
]
ADJECTIVES = [
    "Silent",
    "Hidden",
    "Last",
    "Broken",
    "Golden",
    "Forgotten",
    "Distant",
    "Crimson",
    "Winter",
    "Burning",
    "Quiet",
    "Endless",
    "Wandering",
    "Secret",
    "Shattered",
    "Paper",
    "Midnight",
    "Salt",
    "Glass",
    "Iron",
    "Northern",
    "Drowned",
    "Painted",
    "Little",
]
NOUNS = [
    "River",
    "Garden",
    "City",
    "Kingdom",
    "Lighthouse",
    "Orchard",
    "Library",
    "Harbour",
    "Mountain",
    "Forest",
    "Clockmaker",
    "Cartographer",
    "Daughter",
    "Stranger",
    "Empire",
    "Island",
    "Archive",
    "Bridge",
    "Station",
    "Comet",
    "Winter",
    "Tide",
    "Machine",
    "Map",
]
PLACES = [
    "Lisbon",
    "Kyoto",
    "Prague",
    "Lagos",
    "Valparaíso",
    "Tromsø",
    "Samarkand",
    "Trieste",
    "Zanzibar",
    "Quebec",
    "Hobart",
    "Tbilisi",
]
TITLE_PATTERNS = [
    "The {adj} {noun}",
    "{noun} of {noun2}s",
    "A {noun} in {place}",
    "The {noun}'s {noun2}",
    "{adj} {noun}s",
    "Letters from {place}",
    "The {adj} {noun} of {place}",
    "Beneath the {adj} {noun}",
]
PUBLISHERS = ["Harbour House", "Northlight Press", "Meridian Books", "Quill & Ink", "Atlas"]
LANGUAGES = ["en", "en", "en", "en", "fr", "de", "es"]


def isbn13(index: int) -> str:
    """A valid, unique ISBN-13 per index (979-prefixed, unlikely to clash with real ones)."""
    body = f"979{index + 100_000_000:09d}"[:12]
    check = (10 - sum((1, 3)[i % 2] * int(c) for i, c in enumerate(body)) % 10) % 10
    return body + str(check)


@dataclass(frozen=True)
class SeedReport:
    genres: int
    authors: int
    books: int

    def __str__(self) -> str:
        return f"added {self.books} books, {self.authors} authors, {self.genres} genres"


class Progress(Protocol):
    def __call__(self, stage: str, done: int, total: int) -> None: ...


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


def _initials(number: int) -> str:
    """ "A.", "B.", ..., then "A. A.", ...: the `number`-th (from 1) set of middle initials."""
    letters: list[str] = []
    while number > 0:
        number, digit = divmod(number - 1, len(INITIALS))
        letters.append(f"{INITIALS[digit]}.")
    return " ".join(reversed(letters))


def _author_names(count: int) -> list[str]:
    """`count` distinct names. The first few thousand are drawn as they always were (the
    demo catalog's authors stay the same); once a drawn name and its numbered variant are
    both taken, middle initials make it unique, so any count terminates."""
    rng = random.Random(7)  # noqa: S311 - demo data, not secrets
    names: list[str] = []
    seen: set[str] = set()
    homonyms: dict[str, int] = {}
    while len(names) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        name = f"{first} {last}"
        if name in seen:
            name = f"{name} {'I' * (1 + len(names) % 3)}"
        if name in seen:
            number = homonyms[f"{first} {last}"] = homonyms.get(f"{first} {last}", 0) + 1
            name = f"{first} {_initials(number)} {last}"
        seen.add(name)
        names.append(name)
    return names


def _book(index: int, today: date, now: datetime) -> tuple[Any, ...]:
    """The book of `index`, in the order of `SeedRepository.BOOK_COLUMNS`."""
    rng = random.Random(index)  # noqa: S311
    title = rng.choice(TITLE_PATTERNS).format(
        adj=rng.choice(ADJECTIVES),
        noun=rng.choice(NOUNS),
        noun2=rng.choice(NOUNS),
        place=rng.choice(PLACES),
    )
    roll = rng.random()
    if roll < 0.10:  # upcoming release
        release, stock = today + timedelta(days=rng.randint(7, 365)), rng.choice((0, 0, 20))
    else:
        release = date(1950, 1, 1) + timedelta(days=rng.randint(0, (today - date(1950, 1, 1)).days))
        stock = 0 if roll < 0.25 else rng.randint(1, 5) if roll < 0.40 else rng.randint(6, 120)
    subtitle = "A Novel" if rng.random() < 0.2 else None
    isbn = isbn13(index)
    description = (
        f"{title}: a story of {rng.choice(NOUNS).lower()}s and "
        f"{rng.choice(NOUNS).lower()}s, set in {rng.choice(PLACES)}."
    )
    price = Decimal(rng.randint(499, 5999)) / 100
    page_count = rng.randint(90, 900)
    language = rng.choice(LANGUAGES)
    publisher = rng.choice(PUBLISHERS)
    # Drawn last, so the books drawn before popularity existed stay as they were. A long
    # tail, as sales are: most books sell little, a few a lot.
    popularity = min(1_000_000, int(10 * rng.paretovariate(1.2)))
    added = now - timedelta(minutes=index)
    return (
        title,
        subtitle,
        isbn,
        description,
        price,
        stock,
        release,
        page_count,
        language,
        publisher,
        f"https://covers.example.com/{isbn}.jpg",
        added,
        added,
        popularity,
    )


def _credits(index: int, author_ids: list[int], genre_ids: list[int]) -> tuple[Any, Any]:
    rng = random.Random(-index - 1)  # noqa: S311
    count = 2 if rng.random() < 0.15 else 1
    authors = rng.sample(author_ids, count)
    return authors, rng.sample(genre_ids, rng.randint(1, 3))


async def seed_catalog(
    session: AsyncSession, *, books: int = DEFAULT_BOOKS, progress: Progress = _no_progress
) -> SeedReport:
    """Add whatever of the demo catalog of `books` books is missing (caller commits)."""
    today = datetime.now(UTC).date()
    now = datetime.now(UTC)
    repository = SeedRepository(session)
    await repository.begin_load()
    genres_added = await repository.ensure_genres(
        [
            {"name": name, "slug": _slug(name), "description": description}
            for name, description in GENRES
        ]
    )
    genre_ids = await repository.genre_ids([_slug(name) for name, _ in GENRES])
    rng = random.Random(11)  # noqa: S311 - demo data, not secrets
    names = _author_names(max(MIN_AUTHORS, books // BOOKS_PER_AUTHOR))
    authors_added, author_ids = await repository.ensure_authors(
        {
            name: f"{name} has written about {rng.choice(NOUNS).lower()}s and "
            f"{rng.choice(PLACES)} for many years."
            for name in names
        }
    )

    existing = await repository.book_count()
    staged = 0
    for start in range(0, books, CHUNK):
        indexes = range(start, min(books, start + CHUNK))
        present = await repository.existing_isbns([isbn13(i) for i in indexes]) if existing else ()
        rows: list[tuple[Any, ...]] = []
        credits: list[tuple[int, int, int]] = []
        shelves: list[tuple[int, int]] = []
        for i in indexes:
            book = _book(i, today, now)
            if book[2] in present:
                continue  # seeded before
            authors, genres = _credits(i, author_ids, genre_ids)
            seq = staged + len(rows)
            rows.append((seq, *book))
            credits.extend((seq, author, position) for position, author in enumerate(authors))
            shelves.extend((seq, genre_id) for genre_id in genres)
        await repository.stage(rows, credits, shelves)
        staged += len(rows)
        progress("books", indexes.stop, books)
    if staged or authors_added or genres_added:
        rebuild = staged >= REBUILD_INDEXES_FROM and staged >= existing
        await repository.load_staged(rebuild_indexes=rebuild, progress=progress)
    else:
        await repository.end_load()
    return SeedReport(genres=genres_added, authors=authors_added, books=staged)


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


async def seed_if_empty(session: AsyncSession) -> SeedReport | None:
    """Seed the default demo catalog into an empty catalog; None when it wasn't empty."""
    if not await SeedRepository(session).catalog_is_empty():
        return None
    return await seed_catalog(session)
