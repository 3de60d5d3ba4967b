"""Every domain's models, so that `metadata` (and Alembic's autogenerate) sees them all.

The declarative base (app/db/base.py) knows no domain; this registry is the one place that
lists them. A new domain adds its models module here.
"""

from __future__ import annotations

from app.addresses import models as addresses
from app.books import models as books
from app.cart import models as cart
from app.db.base import Base
from app.orders import models as orders
from app.outbox import models as outbox
from app.prebooks import models as prebooks
from app.reviews import models as reviews
from app.users import models as users
from app.wishlist import models as wishlist

metadata = Base.metadata
MODULES = (addresses, books, cart, orders, outbox, prebooks, reviews, users, wishlist)
