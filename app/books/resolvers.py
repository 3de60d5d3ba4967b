"""Catalog queries and admin mutations."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Annotated, Any, cast

import strawberry
from graphql import FieldNode, GraphQLError, GraphQLObjectType, GraphQLSchema
from graphql.execution.values import VariableValues, get_argument_values
from pydantic import TypeAdapter
from strawberry.types import Info

from app.books import schemas
from app.books import service as books_service
from app.books.loaders import (
    AuthorBooksLoader,
    AuthorLoader,
    BookAuthorsLoader,
    BookGenresLoader,
    NestedBooksKey,
    viewers_book_loader,
)
from app.books.models import SLUG_MAX_LENGTH
from app.books.repository import AuthorBooks, BookOrderField, ListedBook, Related
from app.books.schemas import (
    AuthorFilter,
    BookFilter,
    BookRow,
    CreateAuthorInput,
    CreateBookInput,
    CreateGenreInput,
    UpdateAuthorInput,
    UpdateBookInput,
    UpdateGenreInput,
)
from app.books.types import (
    Author,
    Book,
    BookConnection,
    BookOrder,
    Genre,
    SearchSuggestions,
    book_facets,
)
from app.core.errors import AppError, ValidationFailed
from app.core.paging import PageArgs
from app.core.validation import SINGLE_LINE, bounded
from app.db.pagination import Page
from app.graphql.connection import Connection, keyset_connection, paginated
from app.graphql.context import Context
from app.graphql.ids import decode_id
from app.graphql.inputs import as_dict, parse_arg, parse_input
from app.graphql.lookahead import selected_paths
from app.graphql.node import global_id
from app.graphql.permissions import IsAdmin

AuthorSearch = TypeAdapter(schemas.AuthorSearch)
SuggestionQuery = TypeAdapter(schemas.SearchText)
SlugArg = TypeAdapter(Annotated[str, bounded(SLUG_MAX_LENGTH), SINGLE_LINE])


async def book_by_id(context: Context, book_id: int, *, include_archived: bool) -> Book:
    async with context.session() as session:
        row = await books_service.get_book(
            session, book_id, context.stock, include_archived=include_archived
        )
    return Book.from_row(row)


async def catalog_page(
    context: Context,
    *,
    filters: schemas.BookFilterInput | None,
    order: tuple[BookOrderField, bool] | None,
    args: PageArgs,
    wanted: Collection[str],
) -> BookConnection:
    """A page of `books`. `wanted`: the selected paths below the connection (look-ahead:
    the page's authors and genres come in the same statement, so the nested fields are
    plain attributes instead of one awaitable per book). Also used by the fast path.

    A search that finds nothing is retried once with its misspelt words corrected from
    the vocabulary; `correctedQuery` then says so, and the count and facets follow it."""
    listing = books_service.plan_listing(
        filters=filters, order=order, args=args, is_admin=await context.is_admin()
    )
    related = Related(authors="edges.node.authors" in wanted, genres="edges.node.genres" in wanted)
    corrected_query: str | None = None
    async with context.session() as session:
        page = await books_service.list_books(session, listing, context.stock, related)
        if not page.items and listing.search is not None:
            corrected = await books_service.corrected_listing(session, listing)
            if corrected is not None:
                retried = await books_service.list_books(session, corrected, context.stock, related)
                if retried.items:
                    listing, page, corrected_query = corrected, retried, corrected.criteria.search

    def node(item: ListedBook) -> Book:
        return Book.from_row(item.row, authors=item.authors, genres=item.genres)

    async def total() -> int:
        async with context.session() as session:
            return await books_service.count_books(session, listing, context.stock)

    return BookConnection.of_page(
        page,
        [node(row) for row in page.items],
        count=total,
        facets=lambda: book_facets(context, listing.criteria, listing.search),
        corrected_query=corrected_query,
    )


def detail_related(
    schema: GraphQLSchema, node: FieldNode, variables: dict[str, Any]
) -> Related | None:
    """What a book's page reads with the book, from the selection `node` of `book`
    (look-ahead; `variables`: the operation's, coerced): its authors, and their first
    books when `authors { books }` asks for a first page in the default order (the loaders
    are primed with them). None: only the book."""
    authors = _subfields(node, "authors")
    if not authors:
        return None
    nested = _subfields(authors[0], "books")
    if len(authors) != 1 or len(nested) != 1:
        return Related(authors=True)
    author_type = schema.get_type("Author")
    assert isinstance(author_type, GraphQLObjectType)
    books_field = author_type.fields["books"]
    try:
        # Resolvers see the coerced dict; graphql-core reads it from its own container.
        coerced = VariableValues(sources={}, coerced=variables)
        arguments = get_argument_values(books_field, nested[0], coerced)
        if any(value is not None for name, value in arguments.items() if name != "first"):
            return Related(authors=True)
        ordering = books_service.nested_ordering(None)
        page = PageArgs(first=arguments.get("first")).request(ordering)
    except (GraphQLError, AppError):
        return Related(authors=True)  # the field reports it
    return Related(authors=True, author_books=AuthorBooks(ordering, page))


def author_books_selection(node: FieldNode) -> FieldNode:
    """The `authors { books }` selection of `book` that `detail_related` read ahead."""
    (authors,) = _subfields(node, "authors")
    (books,) = _subfields(authors, "books")
    return books


async def book_detail(
    context: Context, book_id: int, related: Related | None
) -> tuple[Book, Mapping[int, Page[BookRow]] | None]:
    """The root `book` (also the fast path's), and its authors' first books when `related`
    reads them ahead (by author id; the request's loaders are primed with them)."""
    is_admin = await context.is_admin()
    loader = context.loader(viewers_book_loader(is_admin))
    if related is None:
        # Through the request's loader: `book`/`node` fields of one query share a
        # statement.
        row = await loader.load(book_id)
        if row is None:
            raise books_service.book_not_found()
        return Book.from_row(row), None
    async with context.session() as session:
        found = await books_service.get_book_with(
            session, book_id, context.stock, include_archived=is_admin, related=related
        )
    if found is None:
        raise books_service.book_not_found()
    loader.prime(book_id, found.row)
    pages = None
    if related.author_books is not None and found.author_books is not None:
        pages = found.author_books
        loaders = context.loader(AuthorBooksLoader)
        for author_id, page in pages.items():
            loaders.prime(NestedBooksKey(author_id, None, related.author_books.page), page)
    return Book.from_row(found.row, authors=found.authors), pages


def _subfields(node: FieldNode, name: str) -> list[FieldNode]:
    """The fields called `name` selected directly (no fragments) under `node`."""
    selections = node.selection_set.selections if node.selection_set else ()
    return [s for s in selections if isinstance(s, FieldNode) and s.name.value == name]


SUGGESTIONS_MAX_FIRST = 20


ISBN_ARG_MAX_LENGTH = 20  # an ISBN-13 with hyphens is 17


@strawberry.type
class BooksQuery:
    @strawberry.field(
        description="A book by ID. BOOK_NOT_FOUND when there is none or it is archived "
        "(admins see archived books)."
    )
    async def book(self, info: Info[Context, None], id: strawberry.ID) -> Book | None:
        book_id = decode_id(id, "Book", field="id")
        raw = info._raw_info
        # Strawberry hands resolvers the coerced dict, not graphql-core's container.
        variables = cast(dict[str, Any], raw.variable_values)
        related = detail_related(raw.schema, raw.field_nodes[0], variables)
        book, _ = await book_detail(info.context, book_id, related)
        return book

    @strawberry.field(description="A book by ISBN-13 or ISBN-10 (hyphens allowed).")
    async def book_by_isbn(self, info: Info[Context, None], isbn: str) -> Book | None:
        try:
            if len(isbn) > ISBN_ARG_MAX_LENGTH:
                raise ValueError(f"must be at most {ISBN_ARG_MAX_LENGTH} characters")
            isbn13 = schemas.isbn13_of(isbn)
        except ValueError as error:
            raise ValidationFailed(f"isbn {error}", field="isbn") from None
        context = info.context
        include_archived = await context.is_admin()
        async with context.session() as session:
            row = await books_service.get_book_by_isbn(
                session, isbn13, context.stock, include_archived=include_archived
            )
        return Book.from_row(row)

    @strawberry.field(
        description="The catalog, a page at a time. Default order: newest first, or by "
        "relevance when searching. `first`/`last` at most 100."
    )
    @paginated
    async def books(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        filter: BookFilter | None = None,
        order_by: BookOrder | None = None,
    ) -> BookConnection:
        filters = parse_input(schemas.BookFilterInput, filter, field="filter") if filter else None
        return await catalog_page(
            info.context,
            filters=filters,
            order=order_by.as_tuple() if order_by else None,
            args=page,
            wanted=selected_paths(info),
        )

    @strawberry.field(
        description="Type-ahead for a search box, from the first character: completions, "
        "books, authors and genres (`query` at most 200 characters and 16 words, `first` 1 "
        "to 20). Anonymous GET requests (and persisted queries) are cached like the catalog."
    )
    async def search_suggestions(
        self, info: Info[Context, None], query: str, first: int = 5
    ) -> SearchSuggestions:
        text = parse_arg(SuggestionQuery, query, field="query")
        if not 1 <= first <= SUGGESTIONS_MAX_FIRST:
            raise ValidationFailed(
                f"first must be between 1 and {SUGGESTIONS_MAX_FIRST}", field="first"
            )
        async with info.context.session() as session:
            suggestions = await books_service.suggest(session, text, first)
        return SearchSuggestions(queries=suggestions.queries, suggestions=suggestions, first=first)

    @strawberry.field(description="An author by ID (AUTHOR_NOT_FOUND when there is none).")
    async def author(self, info: Info[Context, None], id: strawberry.ID) -> Author | None:
        author_id = decode_id(id, "Author", field="id")
        row = await info.context.loader(AuthorLoader).load(author_id)
        if row is None:
            raise books_service.author_not_found()
        return Author.from_row(row)

    @strawberry.field(description="Authors by name, a page at a time.")
    @paginated
    async def authors(
        self,
        info: Info[Context, None],
        page: PageArgs = PageArgs(),
        filter: AuthorFilter | None = None,
    ) -> Connection[Author]:
        # One argument of the filter, validated alone: its errors name `filter.search`.
        text = as_dict(filter).get("search") if filter else None
        search = parse_arg(AuthorSearch, text or "", field="filter.search")
        args = page
        return await keyset_connection(
            info.context,
            fetch=lambda session: books_service.list_authors(session, search, args),
            count=lambda session: books_service.count_authors(session, search),
            node=Author.from_row,
        )

    @strawberry.field(description="Every genre, by name.")
    async def genres(self, info: Info[Context, None]) -> list[Genre]:
        async with info.context.session() as session:
            return [Genre.from_row(row) for row in await books_service.list_genres(session)]

    @strawberry.field(description="A genre by slug (GENRE_NOT_FOUND when there is none).")
    async def genre(self, info: Info[Context, None], slug: str) -> Genre | None:
        wanted = parse_arg(SlugArg, slug, field="slug")
        async with info.context.session() as session:
            return Genre.from_row(await books_service.get_genre_by_slug(session, wanted))


@strawberry.type
class BooksMutation:
    @strawberry.mutation(description="Add a book (admins).", permission_classes=[IsAdmin])
    async def create_book(self, info: Info[Context, None], input: CreateBookInput) -> Book | None:
        data = parse_input(schemas.BookCreateInput, input)
        async with info.context.transaction() as session:
            book_id = await books_service.create_book(session, data)
        return await book_by_id(info.context, book_id, include_archived=True)

    @strawberry.mutation(description="Change a book (admins).", permission_classes=[IsAdmin])
    async def update_book(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateBookInput
    ) -> Book | None:
        book_id = decode_id(id, "Book", field="id")
        data = parse_input(schemas.BookUpdateInput, input)
        async with info.context.transaction() as session:
            await books_service.update_book(session, book_id, data)
        _forget_relations(info.context, book_id)
        return await book_by_id(info.context, book_id, include_archived=True)

    @strawberry.mutation(
        description="Withdraw a book from sale. Books are never deleted: orders refer to them.",
        permission_classes=[IsAdmin],
    )
    async def archive_book(self, info: Info[Context, None], id: strawberry.ID) -> Book | None:
        return await _set_archived(info, id, archived=True)

    @strawberry.mutation(
        description="Put an archived book back on sale.", permission_classes=[IsAdmin]
    )
    async def unarchive_book(self, info: Info[Context, None], id: strawberry.ID) -> Book | None:
        return await _set_archived(info, id, archived=False)

    @strawberry.mutation(description="Add an author (admins).", permission_classes=[IsAdmin])
    async def create_author(
        self, info: Info[Context, None], input: CreateAuthorInput
    ) -> Author | None:
        data = parse_input(schemas.AuthorCreateInput, input)
        async with info.context.transaction() as session:
            author_id = await books_service.create_author(session, data)
            return Author.from_row(await books_service.get_author(session, author_id))

    @strawberry.mutation(description="Change an author (admins).", permission_classes=[IsAdmin])
    async def update_author(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateAuthorInput
    ) -> Author | None:
        author_id = decode_id(id, "Author", field="id")
        data = parse_input(schemas.AuthorUpdateInput, input)
        async with info.context.transaction() as session:
            await books_service.update_author(session, author_id, data)
            return Author.from_row(await books_service.get_author(session, author_id))

    @strawberry.mutation(
        description="Delete an author who is credited on no book (else AUTHOR_HAS_BOOKS). "
        "Answers the deleted author's ID, for client caches to evict.",
        permission_classes=[IsAdmin],
    )
    async def delete_author(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> strawberry.ID | None:
        author_id = decode_id(id, "Author", field="id")
        async with info.context.transaction() as session:
            await books_service.delete_author(session, author_id)
        return global_id("Author", author_id)

    @strawberry.mutation(description="Add a genre (admins).", permission_classes=[IsAdmin])
    async def create_genre(
        self, info: Info[Context, None], input: CreateGenreInput
    ) -> Genre | None:
        data = parse_input(schemas.GenreCreateInput, input)
        async with info.context.transaction() as session:
            genre_id = await books_service.create_genre(session, data)
            return Genre.from_row((await books_service.get_genres(session, [genre_id]))[genre_id])

    @strawberry.mutation(description="Change a genre (admins).", permission_classes=[IsAdmin])
    async def update_genre(
        self, info: Info[Context, None], id: strawberry.ID, input: UpdateGenreInput
    ) -> Genre | None:
        genre_id = decode_id(id, "Genre", field="id")
        data = parse_input(schemas.GenreUpdateInput, input)
        async with info.context.transaction() as session:
            await books_service.update_genre(session, genre_id, data)
            return Genre.from_row((await books_service.get_genres(session, [genre_id]))[genre_id])

    @strawberry.mutation(
        description="Delete a genre; its books stay, without it. Answers the deleted genre's "
        "ID, for client caches to evict.",
        permission_classes=[IsAdmin],
    )
    async def delete_genre(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> strawberry.ID | None:
        genre_id = decode_id(id, "Genre", field="id")
        async with info.context.transaction() as session:
            await books_service.delete_genre(session, genre_id)
        return global_id("Genre", genre_id)


async def _set_archived(info: Info[Context, None], id: strawberry.ID, *, archived: bool) -> Book:
    book_id = decode_id(id, "Book", field="id")
    async with info.context.transaction() as session:
        await books_service.set_archived(session, book_id, archived=archived)
    return await book_by_id(info.context, book_id, include_archived=True)


def _forget_relations(context: Context, book_id: int) -> None:
    """A request that changed a book's credits must not answer from its own loader cache."""
    context.loader(BookAuthorsLoader).clear(book_id)
    context.loader(BookGenresLoader).clear(book_id)
