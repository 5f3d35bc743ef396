"""``manage.py seed_scale --accounts N``: bench data for one organization, loaded with COPY.

Builds, for one organization (created when absent, slug ``scale`` by default), the demo
payer master, ``N`` patients with one guarantor each (a parent for minors), coverages for
most of them, about ``N`` accounts with charges, and about ``--ledger-lines`` ledger
entries per account: charges, insurance payments and contractual adjustments, transfers
to the secondary payer or the patient, secondary and patient payments, uninsured
discounts and bad-debt write-offs, with the signs ``accounts.ledger`` uses.
``AccountBucket`` rows and the account balance columns are computed here from the same
entries, so ``ledger_drift()`` stays empty; a sample of 2,000 accounts is checked after
every load (the tests check every account at small N).

This is bench data, loaded with COPY on purpose: the one place that writes history-tracked
models without ``bulk_create_with_history``. Made-up rows have no business history, and
history rows would double what a million-account load costs. Money is computed in integer
cents (exact; never float) and written as decimal text.

How it is fast:

- Rows are rendered as tab-separated COPY text (``FORMAT text``: no quoting needed for
  the arrays and empty strings) in chunks of ``--chunk`` patients. ``--jobs`` loader
  threads COPY the chunks, one transaction per chunk, while the main thread renders the
  next ones; an interrupted run leaves whole chunks, each with consistent balances.
- Ids of rows that others reference are reserved up front, one range per table (the
  tables are locked for that instant, so no concurrent insert takes a number inside a
  range); ledger entries and buckets take theirs from the identity column, in order.
  ``search_name`` is a generated column and is not copied.
- Per-row foreign-key triggers are the larger half of the database's work (25 million
  single-row lookups for a million accounts). When the role may, each chunk's transaction
  skips them (``SET LOCAL session_replication_role = replica``: that transaction only,
  nothing changes for anyone else), and after the load every foreign key of the new rows
  is checked set-based, one anti-join per key. Without that right the triggers run as
  usual. Nothing else is bypassed; the ledger's append-only trigger fires only on UPDATE
  and DELETE anyway.

Running it again tops the organization up to ``N`` patients; with as many already there
it does nothing. ``--seed`` fixes every random choice (and the UUIDs), so a fresh run
with the same arguments builds the same data.
"""

from __future__ import annotations

import io
import queue
import random
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import close_old_connections, connection, connections, models, transaction
from django.utils import timezone

from accounts.models import LedgerEntry, Patient, PatientAccount
from core.audit import system_user
from core.management.base import AuditedCommand
from payers import demo as payers_demo
from payers.models import Plan
from staff.models import Organization

# --- the columns written, per table (checked against the database before loading) ---------------

COLUMNS = {
    "accounts_patient": (
        "id reference created_at updated_at external_id mrn first_name middle_name last_name suffix "
        "date_of_birth sex address_line1 address_line2 city state postal_code phone mobile_phone email "
        "preferred_language interpreter preferred_contact ok_to_text ok_to_email ok_to_leave_voicemail "
        "ssn_last4 organization_id"
    ),
    "accounts_guarantor": (
        "id reference created_at updated_at external_id relationship first_name last_name date_of_birth "
        "address_line1 address_line2 city state postal_code phone email organization_id patient_id"
    ),
    "accounts_coverage": (
        "id reference created_at updated_at external_id member_id group_number subscriber_name "
        "subscriber_date_of_birth relationship_to_subscriber priority effective_from effective_to is_active "
        "verified_at verification_method verification_result verification_reference verification_note "
        "organization_id plan_id verified_by_id patient_id"
    ),
    "accounts_patientaccount": (
        "id reference created_at updated_at account_number facility kind service_from service_to "
        "financial_class status interpreter_needed dispute_hold financial_assistance_pending balance "
        "insurance_balance patient_balance credit_identified_on first_statement_on last_statement_on "
        "guarantor_id organization_id patient_id"
    ),
    "accounts_charge": (
        "id reference created_at updated_at external_id service_date code_type code modifiers revenue_code "
        "diagnoses description units amount place_of_service rx_number fill_number ndc quantity days_supply "
        "status organization_id account_id"
    ),
    # No id: entries and buckets take theirs from the identity column, in insertion order.
    "accounts_ledgerentry": (
        "reference kind amount reason_code source source_ref transfer_group memo posted_at effective_date "
        "actor_id charge_id coverage_id organization_id reverses_id account_id"
    ),
    "accounts_accountbucket": "balance coverage_id account_id",
}
# Columns the database fills itself.
DATABASE_FILLED = {
    "accounts_patient": {"search_name"},
    "accounts_ledgerentry": {"id"},
    "accounts_accountbucket": {"id"},
}
RESERVED = [
    "accounts_patient",
    "accounts_guarantor",
    "accounts_coverage",
    "accounts_patientaccount",
    "accounts_charge",
]

# --- made-up people ---------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return text.split()


# Common US surnames, most frequent first. Weights fall off as 1/(rank + 30), which gives
# the head of the real distribution: the first name about 0.9% of patients (Smith is 0.8%
# of the US population in the 2010 census), the thousandth about 0.03%.
SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez "
    "Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark "
    "Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams "
    "Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker "
    "Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper "
    "Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James "
    "Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster "
    "Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher "
    "Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno "
    "West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall "
    "Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb "
    "Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason "
    "Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren "
    "Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne "
    "Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight "
    "Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry "
    "Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence Sandoval Guerrero "
    "George Chapman Rios Estrada Ortega Watkins Greene Nunez Wheeler Valdez Harper Burke Larson Santiago "
    "Maldonado Morrison Franklin Carlson Austin Dominguez Carr Lawson Jacobs OBrien Lynch Singh Vega "
    "Bishop Montgomery Oliver Jensen Harvey Williamson Gilbert Dean Sims Espinoza Howell Li Wong Reid "
    "Hanson Le McCoy Garrett Burton Fuller Wang Weber Welch Rojas Lucas Marquez Fields Park Yang Little "
    "Banks Padilla Day Walsh Bowman Schultz Luna Fowler Mejia Davidson Acosta Brewer May Holland Juarez "
    "Newman Pearson Curtis Cortez Douglas Schneider Joseph Barrett Navarro Figueroa Keller Avila Wade "
    "Molina Stanley Hopkins Campos Barnett Bates Chambers Caldwell Beck Lambert Miranda Byrd Craig Ayala "
    "Lowe Frazier Powers Neal Leonard Gregory Carrillo Sutton Fleming Rhodes Shelton Schwartz Norris "
    "Jennings Watts Duran Walters Cohen McDaniel Moran Parks Steele Vaughn Becker Holt Deleon Barker "
    "Terry Hale Leon Hail Benson Haynes Horton Miles Lyons Pham Graves Bush Thornton Wolfe Warner Cabrera "
    "McKinney Mann Zimmerman Dawson Lara Fletcher Page McCarthy Love Robles Cervantes Solis Erickson "
    "Reeves Chang Klein Salinas Fuentes Baldwin Daniel Simon Velasquez Hardy Higgins Aguirre Lin "
    "Cummings Chandler Sharp Barber Bowen Ochoa Dennis Robbins Liu Ramsey Francis Griffith Paul Blair "
    "ONeil Cardenas Pacheco Cross Calderon Quinn Moss Swanson Chan Rivas Khan Rodgers Serrano Fitzgerald "
    "Rosales Stevenson Christensen Manning Gill Curry McLaughlin Harmon McGee Gross Doyle Garner Newton "
    "Burgess Reese Walton Blake Trujillo Adkins Brady Goodman Roman Webster Goodwin Fischer Huang Potter "
    "Delacruz Montoya Todd Wu Hines Mullins Castaneda Malone Cannon Tate Mack Sherman Hubbard Hodges "
    "Zhang Guerra Wolf Valencia Saunders Franco Rowe Gallagher Farmer Hammond Hampton Townsend Ingram "
    "Wise Gallegos Clarke Barton Schroeder Maxwell Waters Logan Camacho Strickland Norman Person "
    "Colon Parsons Frank Harrington Glover Osborne Buchanan Casey Floyd Patton Ibarra Ball Tyler "
    "Suarez Bowers Orozco Salas Cobb Gibbs Andrade Bauer Conner Moody Escobar McGuire Lloyd Mueller "
    "Hartman French Kramer McBride Pope Lindsey Velazquez Norton McCormick Sparks Flynn Yates Hogan "
    "Marsh Macias Villanueva Zamora Pratt Stokes Owen Ballard Lang Brock Villarreal Charles Drake "
    "Barrera Cain Patrick Pineda Burnett Mercado Santana Shepherd Bautista Ali Shaffer Lamb Trevino "
    "McKenzie Hess Beil Olsen Cochran Morton Nash Wilkins Petersen Briggs Shah Roth Nicholson Holloway "
    "Lozano Rangel Flowers Hoover Short Arias Mora Valenzuela Bryan Meyers Weiss Underwood Bass Greer "
    "Summers Houston Carson Morrow Clayton Whitaker Decker Yoder Collier Zuniga Carey Wilcox Melendez "
    "Poole Roberson Larsen Conley Davenport Copeland Massey Lam Huff Rocha Cameron Jefferson Hood "
    "Monroe Anthony Pittman Huynh Randall Singleton Kirk Combs Mathis Christian Skinner Bradford "
    "Richard Galvan Wall Boone Kirby Wilkinson Bridges Bruce Atkinson Velez Meza Roy Vincent York "
    "Hodge Villa Abbott Allison Tapia Gates Chase Sosa Sweeney Farrell Wyatt Dalton Horn Barron Phelps "
    "Yu Dickerson Heath Foley Atkins Mathews Bonilla Acevedo Benitez Zavala Hensley Glenn Cisneros "
    "Harrell Shields Rubio Huffman Choi Boyer Garrison Arroyo Bond Kane Hancock Callahan Dillon Cline "
    "Wiggins Grimes Arellano Melton ONeill Savage Ho Beltran Pitts Parrish Ponce Rich Booth Koch Golden "
    "Ware Brennan McDowell Marks Cantu Humphrey Baxter Sawyer Clay Tanner Hutchinson Kaur Berg Wiley "
    "Gilmore Russo Villegas Hobbs Keith Wilkerson Ahmed Beard McClain Montes Mata Rosario Vang Walter "
    "Henson ONeal Mosley McClure Beasley Stephenson Snow Huerta Preston Vance Barry Johns Eaton Blackwell "
    "Dyer Prince Macdonald Solomon Guevara Stafford English Hurst Woodard Cortes Shannon Kemp Nolan "
    "McCullough Merritt Murillo Moon Salgado Strong Kline Cordova Barajas Roach Rosas Winters Jacobson "
    "Lester Knox Bullock Kerr Leach Meadows Orr Davila Whitehead Pruitt Kent Conway McKee Barr David "
    "Dejesus Marin Berger McIntyre Blankenship Gaines Palacios Cuevas Bartlett Durham Dorsey McCall "
    "ODonnell Stein Browning Stout Lowery Sloan McLean Hendricks Calhoun Sexton Chung Gentry Hull Duarte "
    "Ellison Nielsen Gillespie Buck Middleton Sellers Leblanc Esparza Hardin Bradshaw McIntosh Howe "
    "Livingston Frost Glass Morse Knapp Herman Stark Bravo Noble Spears Weeks Corona Frederick Buckley "
    "McFarland Hebert Enriquez Hickman Quintero Randolph Schaefer Walls Trejo House Reilly Pennington "
    "Michael Conrad Giles Benjamin Crosby Fitzpatrick Donovan Mays Mahoney Valentine Raymond Medrano "
    "Hahn McMillan Small Bentley Felix Peck Lucero Boyle Hanna Pace Rush Hurley Harding McConnell Bernal "
    "Nava Ayers Everett Ventura Avery Pugh Mayer Bender Shepard McMahon Landry Case Sampson Moses Magana "
    "Blackburn Dunlap Gould Duffy Vaughan Herring McKay Espinosa Rivers Farley Bernard Ashley Friedman "
    "Potts Truong Costa Correa Blevins Nixon Clements Fry Delarosa Best Benton Lugo Portillo Dougherty "
    "Crane Haley Phan Villalobos Blanchard Horne Finley Quintana Lynn Esquivel Bean Dodson Mullen "
    "Xiong Hayden Cano Levy Huber Richmond Moyer Lim Frye Sheppard McCarty Avalos Booker Waller Parra "
    "Woodward Jaramillo Krueger Rasmussen Brandt Peralta Donaldson Stuart Faulkner Maynard Galindo "
    "Coffey Estes Sanford Burch Maddox Vo OConnell Vu Andersen Spence McPherson Church Schmitt Stanton "
    "Leal Cherry Compton Dudley Sierra Pollard Alfaro Hester Proctor Lu Hinton Novak Good Madden McCann "
    "Terrell Jarvis Dickson Reyna Cantrell Mayo Branch Hendrix Rollins Rowland Whitney Duke Odom Daugherty "
    "Travis Tang Archer"
)
FEMALE = _words(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra "
    "Margaret Ashley Kimberly Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca "
    "Sharon Laura Cynthia Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine "
    "Christine Helen Debra Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria "
    "Ruth Virginia Lauren Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha "
    "Madison Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia "
    "Grace Amber Denise Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla "
    "Alexis Lori Marie Guadalupe Rosa Ana Carmen Lucia Sofia Isabel Veronica Mei Priya Fatima Ngoc Aaliyah"
)
MALE = _words(
    "James Robert John Michael David William Richard Joseph Thomas Christopher Charles Daniel Matthew "
    "Anthony Mark Donald Steven Andrew Paul Joshua Kenneth Kevin Brian Timothy Ronald George Jason Edward "
    "Jeffrey Ryan Jacob Nicholas Gary Eric Jonathan Stephen Larry Justin Scott Brandon Benjamin Samuel "
    "Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam Nathan Henry Zachary "
    "Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin Sean Gerald Carl Harold "
    "Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan Alan Juan Albert Willie Elijah "
    "Wayne Randy Vincent Mason Roy Ralph Bobby Russell Bradley Philip Eugene Luis Carlos Jorge Miguel "
    "Alejandro Javier Ricardo Wei Arjun Omar Minh Hiroshi"
)
STREETS = _words(
    "Oak Maple Cedar Elm Washington Lake Hill Park Pine Sunset Lincoln Jackson Highland Madison River "
    "Church Spring Prospect Main Second Third Fourth Walnut Willow Chestnut Franklin Jefferson Adams Grove"
)
STREET_KINDS = _words("St Ave Blvd Rd Ln Dr Ct Pl Way")
PLACES = [
    ("Chicago", "IL", "606"),
    ("Springfield", "IL", "627"),
    ("Peoria", "IL", "616"),
    ("Rockford", "IL", "611"),
    ("Naperville", "IL", "605"),
    ("Gary", "IN", "464"),
    ("Milwaukee", "WI", "532"),
    ("Madison", "WI", "537"),
    ("St. Louis", "MO", "631"),
    ("Davenport", "IA", "528"),
]
AREA_CODES = _words("312 773 872 630 331 708 815 779 217 447 309 618 224 847 219 414 608 314 563 262")
LANGUAGES = (
    [("es", "spoken")] * 10 + [("es", "none")] * 4 + [("ase", "sign"), ("zh", "spoken"), ("pl", "spoken")]
)

# --- what is billed -----------------------------------------------------------------------------------------

# (code type, code, revenue code, chargemaster label, price in cents, diagnoses as a COPY array)
PROFESSIONAL = [
    ("cpt", "99213", "", "OFFICE VISIT EST L3", 19800, "{I10}"),
    ("cpt", "99214", "", "OFFICE VISIT EST L4", 28900, "{E119,I10}"),
    ("cpt", "99215", "", "OFFICE VISIT EST L5", 40200, "{E1165}"),
    ("cpt", "99203", "", "OFFICE VISIT NEW L3", 24600, "{J069}"),
    ("cpt", "36415", "", "VENIPUNCTURE", 2400, "{E785}"),
    ("cpt", "85025", "", "LAB HEMATOLOGY PANEL", 4800, "{D649}"),
    ("cpt", "93000", "", "EKG TRACING", 11800, "{R079}"),
    ("hcpcs", "G0008", "", "Administration of influenza virus vaccine", 6200, "{Z23}"),
    ("hcpcs", "G0439", "", "Annual wellness visit, subsequent", 21000, "{Z0000}"),
    ("cpt", "97110", "", "PT THERAPEUTIC EXERCISE 15 MIN", 8400, "{M25561}"),
]
HOSPITAL = [
    ("cpt", "99284", "0450", "ED VISIT LEVEL 4", 68900, "{R1013,R112}"),
    ("cpt", "99285", "0450", "ED VISIT LEVEL 5", 102400, "{R079}"),
    ("cpt", "71046", "0320", "XR CHEST", 21200, "{R051}"),
    ("cpt", "80053", "0300", "LAB CHEMISTRY PANEL", 9600, "{N179}"),
    ("revenue", "0120", "0120", "ROOM AND BOARD SEMI-PRIVATE", 245000, "{J189,I10}"),
    ("revenue", "0250", "0250", "PHARMACY GENERAL", 38600, "{J189}"),
    ("hcpcs", "J7030", "0258", "Infusion, normal saline solution, 1000 cc", 5400, "{E860}"),
]
FACILITIES = {"hospital": "Scale General Hospital", "professional": "Scale Physician Group"}
# Payer key -> (share of charges allowed, % low/high; patient share of allowed, % low/high).
PAYMENT_TERMS = {
    "medicare": ((38, 48), (20, 20)),
    "medicaid": ((24, 34), (1, 3)),
    "commercial_a": ((50, 60), (10, 30)),
    "commercial_b": ((50, 62), (10, 30)),
    "medicare_advantage": ((40, 50), (5, 15)),
}
FINANCIAL_CLASS = {
    "medicare": "medicare",
    "medicaid": "medicaid",
    "commercial_a": "commercial",
    "commercial_b": "commercial",
    "medicare_advantage": "medicare_advantage",
}
# Ledger lines after the charges, by stage (0 billed, 1 adjudicated, 2 transferred, 3 paid),
# and how often each stage happens, for insured and self-pay accounts.
INSURED_LINES, INSURED_STAGES = (0, 2, 4, 5), (15, 20, 25, 40)
SELF_PAY_LINES, SELF_PAY_STAGES = (0, 1, 2, 3), (15, 25, 45, 15)
UNINSURED = 0.15  # share of patients without coverage
SECONDARY = 0.17  # share of patients with a second coverage


def _mean(lines: tuple[int, ...], weights: tuple[int, ...]) -> float:
    return sum(n * w for n, w in zip(lines, weights, strict=True)) / sum(weights)


EXTRA_LINES = (1 - UNINSURED) * _mean(INSURED_LINES, INSURED_STAGES) + UNINSURED * _mean(
    SELF_PAY_LINES, SELF_PAY_STAGES
)

NULL = "\\N"
UUID_VERSION_CLEAR = ~((0xF << 76) | (0x3 << 62))
UUID_VERSION_SET = (0x4 << 76) | (0x2 << 62)


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _bool(value: bool) -> str:
    return "t" if value else "f"


def _id(value: int | None) -> str:
    return NULL if value is None else str(value)


@dataclass(frozen=True)
class PlanChoice:
    id: int
    payer_key: str
    group_number: str


@dataclass
class Shape:
    """The structure of one patient's records, drawn first so that id ranges can be reserved."""

    coverages: int
    accounts: list[tuple[int, int]]  # (charges, stage) per account


@dataclass
class Person:
    patient: int
    guarantor: int
    number: int
    interpreter: bool
    coverages: list[tuple[int, str]]  # (coverage id, payer key), primary first


class Chunk:
    """The rows of one chunk, as COPY text lines per table, and where the next ids come from."""

    def __init__(self, rng: random.Random, ids: dict[str, Iterator[int]]) -> None:
        self.rng = rng
        self.uuid = _uuids(rng)
        self.ids = ids
        self.rows: dict[str, list[str]] = {table: [] for table in COLUMNS}

    def next_id(self, table: str) -> int:
        return next(self.ids[table])

    def add(self, table: str, line: str) -> None:
        self.rows[table].append(line)

    def text(self) -> dict[str, str]:
        return {table: "\n".join(rows) + "\n" if rows else "" for table, rows in self.rows.items()}


class Generator:
    """Renders chunks of patients, and everything that hangs off them, as COPY text."""

    def __init__(
        self,
        *,
        organization: Organization,
        plans: dict[str, list[PlanChoice]],
        actor_id: int,
        seed: int,
        ledger_lines: float,
        today: date,
    ) -> None:
        self.org = organization.pk
        self.slug = organization.slug
        self.plans = plans
        self.actor = actor_id
        self.seed = seed
        self.charges_mean = max(1.0, ledger_lines - EXTRA_LINES)
        self.today = today
        self.now = timezone.now().isoformat()
        self.days: dict[int, str] = {}  # days back from today -> ISO date
        self.surname_weights = list(_cumulative([1 / (rank + 30) for rank in range(len(SURNAMES))]))

    def day(self, back: int) -> str:
        text = self.days.get(back)
        if text is None:
            text = self.days[back] = (self.today - timedelta(days=back)).isoformat()
        return text

    def rng(self, purpose: str, start: int) -> random.Random:
        return random.Random(f"{self.seed}:{self.slug}:{purpose}:{start}")  # noqa: S311 (bench data)

    def shapes(self, start: int, stop: int) -> list[Shape]:
        rng = self.rng("shape", start)
        whole, fraction = int(self.charges_mean), self.charges_mean - int(self.charges_mean)
        result = []
        for _ in range(start, stop):
            roll = rng.random()
            coverages = 0 if roll < UNINSURED else (2 if roll < UNINSURED + SECONDARY else 1)
            roll = rng.random()
            count = 0 if roll < 0.04 else (2 if roll < 0.09 else 1)
            stages = SELF_PAY_STAGES if coverages == 0 else INSURED_STAGES
            accounts = []
            for _account in range(count):
                charges = whole + (1 if rng.random() < fraction else 0)
                accounts.append((charges, rng.choices(range(4), weights=stages)[0]))
            result.append(Shape(coverages, accounts))
        return result

    @staticmethod
    def counts(shapes: list[Shape]) -> dict[str, int]:
        return {
            "accounts_patient": len(shapes),
            "accounts_guarantor": len(shapes),
            "accounts_coverage": sum(s.coverages for s in shapes),
            "accounts_patientaccount": sum(len(s.accounts) for s in shapes),
            "accounts_charge": sum(charges for s in shapes for charges, _stage in s.accounts),
        }

    def render(self, start: int, shapes: list[Shape], ids: dict[str, Iterator[int]]) -> dict[str, str]:
        """COPY text per table for the patients numbered from ``start`` with these shapes."""
        chunk = Chunk(self.rng("rows", start), ids)
        surnames = chunk.rng.choices(SURNAMES, cum_weights=self.surname_weights, k=len(shapes))
        for offset, shape in enumerate(shapes):
            person = self._person(chunk, start + offset, surnames[offset], shape.coverages)
            for index, (charges, stage) in enumerate(shape.accounts):
                self._account(chunk, person, index, charges, stage)
        return chunk.text()

    def _person(self, chunk: Chunk, number: int, last: str, coverages: int) -> Person:
        """The patient, their guarantor (a parent for a minor) and their coverages."""
        rng, uuid, now, org, day = chunk.rng, chunk.uuid, self.now, self.org, self.day
        patient, guarantor = chunk.next_id("accounts_patient"), chunk.next_id("accounts_guarantor")
        roll = rng.random()
        age = (
            rng.randint(0, 17)
            if roll < 0.15
            else (rng.randint(18, 64) if roll < 0.7 else rng.randint(65, 95))
        )
        born = day(age * 365 + rng.randrange(365))
        female = rng.random() < 0.52
        first = rng.choice(FEMALE if female else MALE)
        city, state, zip3 = rng.choice(PLACES)
        address = (
            f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_KINDS)}\t\t{city}\t{state}\t"
            f"{zip3}{rng.randrange(100):02d}"
        )
        # 555 numbers: the exchange is not given to subscribers (555-01xx is reserved for fiction).
        phone = f"{rng.choice(AREA_CODES)}555{rng.randrange(10000):04d}"
        mobile = f"{rng.choice(AREA_CODES)}555{rng.randrange(10000):04d}" if rng.random() < 0.6 else ""
        email = f"{first}.{last}{number}@example.com".lower() if age >= 18 and rng.random() < 0.5 else ""
        language, interpreter = rng.choice(LANGUAGES) if rng.random() < 0.12 else ("en", "none")
        ssn = f"{rng.randrange(10000):04d}" if rng.random() < 0.7 else ""
        chunk.add(
            "accounts_patient",
            f"{patient}\t{uuid()}\t{now}\t{now}\tS{number:09d}\t{10_000_000 + number}\t{first}\t\t{last}\t\t"
            f"{born}\t{'F' if female else 'M'}\t{address}\t{phone}\t{mobile}\t{email}\t{language}\t"
            f"{interpreter}\tmail\t{_bool(bool(mobile))}\t{_bool(bool(email))}\tf\t{ssn}\t{org}",
        )
        if age < 18:
            parent = rng.choice(MALE if rng.random() < 0.4 else FEMALE)
            parent_born = day((age + rng.randint(20, 40)) * 365)
            chunk.add(
                "accounts_guarantor",
                f"{guarantor}\t{uuid()}\t{now}\t{now}\t\tparent\t{parent}\t{last}\t{parent_born}\t{address}\t"
                f"{phone}\t\t{org}\t{NULL}",
            )
            subscriber = f"{parent} {last}\t{parent_born}\tchild"
        else:
            chunk.add(
                "accounts_guarantor",
                f"{guarantor}\t{uuid()}\t{now}\t{now}\t\tself\t{first}\t{last}\t{born}\t{address}\t{phone}\t"
                f"{email}\t{org}\t{patient}",
            )
            subscriber = f"{first} {last}\t{born}\tself"

        covered = []
        for priority, key in enumerate(_payer_keys(rng, age, coverages), start=1):
            coverage = chunk.next_id("accounts_coverage")
            plan = rng.choice(self.plans[key])
            verified = rng.random() < 0.85
            verification = (
                f"{day(rng.randint(1, 400))} 15:00:00+00\teligibility\tactive\t\t\t{org}\t{plan.id}\t"
                f"{self.actor}"
                if verified
                else f"{NULL}\t\t\t\t\t{org}\t{plan.id}\t{NULL}"
            )
            chunk.add(
                "accounts_coverage",
                f"{coverage}\t{uuid()}\t{now}\t{now}\t\t{key[:3].upper()}{rng.randrange(10**9):09d}\t"
                f"{plan.group_number}\t{subscriber}\t{priority}\t{day(rng.randint(600, 3000))}\t{NULL}\tt\t"
                f"{verification}\t{patient}",
            )
            covered.append((coverage, key))
        return Person(patient, guarantor, number, interpreter != "none", covered)

    def _account(self, chunk: Chunk, person: Person, index: int, charges: int, stage: int) -> None:
        """One account: its charges, its ledger up to ``stage``, its buckets and its balances."""
        rng, uuid, now, org, actor = chunk.rng, chunk.uuid, self.now, self.org, self.actor
        account = chunk.next_id("accounts_patientaccount")
        hospital = rng.random() < 0.4
        kind = "hospital" if hospital else "professional"
        back = rng.randint(1, 540)
        service = self.day(back)
        primary = person.coverages[0] if person.coverages else None
        balance: dict[int | None, int] = {}  # cents per bucket: coverage id, None for the patient
        credit_on = NULL

        def later(days: int) -> str:
            return self.day(max(0, back - days))

        def entry(
            kind: str, cents: int, bucket: int | None, when: str, *, source: str = "manual", **extra: str
        ) -> None:
            nonlocal credit_on
            balance[bucket] = balance.get(bucket, 0) + cents
            # As accounts.ledger does: the day a bucket went below zero, cleared when none is.
            if any(value < 0 for value in balance.values()):
                credit_on = when if credit_on == NULL else credit_on
            else:
                credit_on = NULL
            chunk.add(
                "accounts_ledgerentry",
                f"{uuid()}\t{kind}\t{_money(cents)}\t{extra.get('reason', '')}\t{source}\t"
                f"{extra.get('ref', '')}\t"
                f"{extra.get('group', NULL)}\t{extra.get('memo', '')}\t{when} 12:00:00+00\t{when}\t{actor}\t"
                f"{extra.get('charge', NULL)}\t{_id(bucket)}\t{org}\t{NULL}\t{account}",
            )

        total = 0
        for _line in range(charges):
            charge = chunk.next_id("accounts_charge")
            code_type, code, revenue, label, amount, diagnoses = rng.choice(
                HOSPITAL if hospital else PROFESSIONAL
            )
            total += amount
            chunk.add(
                "accounts_charge",
                f"{charge}\t{uuid()}\t{now}\t{now}\t\t{service}\t{code_type}\t{code}\t{{}}\t{revenue}\t"
                f"{diagnoses}\t{label}\t1\t{_money(amount)}\t{'' if hospital else '11'}\t\t{NULL}\t\t{NULL}\t"
                f"{NULL}\tposted\t{org}\t{account}",
            )
            memo = f"{code} on {service}"
            entry(
                "charge",
                amount,
                primary and primary[0],
                service,
                source="charge",
                charge=str(charge),
                memo=memo,
            )

        if primary is not None and stage >= 1:
            (allowed_low, allowed_high), (share_low, share_high) = PAYMENT_TERMS[primary[1]]
            allowed = total * rng.randint(allowed_low, allowed_high) // 100
            share = max(1, allowed * rng.randint(share_low, share_high) // 100)
            trace, remitted = f"EFT{rng.randrange(10**10):010d}", later(rng.randint(14, 40))
            entry("insurance_payment", -(allowed - share), primary[0], remitted, source="835", ref=trace)
            contractual = -(total - allowed)
            entry(
                "contractual_adjustment",
                contractual,
                primary[0],
                remitted,
                source="835",
                ref=trace,
                reason="CO-45",
            )
            if stage >= 2:
                secondary = person.coverages[1][0] if len(person.coverages) > 1 else None
                group, moved = uuid(), later(rng.randint(41, 60))
                memo = "Balance to the secondary payer" if secondary else "Balance to patient responsibility"
                entry("transfer", -share, primary[0], moved, group=group, memo=memo)
                entry("transfer", share, secondary, moved, group=group, memo=memo)
            if stage >= 3:
                paid_on = later(rng.randint(61, 90))
                if secondary is not None:
                    entry(
                        "insurance_payment", -share, secondary, paid_on, source="835", ref=f"EFT{number(rng)}"
                    )
                else:
                    roll = rng.random()  # most pay their share, some half, a few twice (a credit)
                    paid = share if roll < 0.6 else (max(1, share // 2) if roll < 0.98 else share * 2)
                    entry("patient_payment", -paid, None, paid_on, memo="Card payment")
        elif primary is None and stage >= 1:
            discount = max(1, total * 40 // 100)
            memo = "Uninsured patient discount"
            entry("other_adjustment", -discount, None, later(10), reason="UNINS_DISC", memo=memo)
            owed = total - discount
            if stage >= 2:
                paid = owed if stage == 2 and rng.random() < 0.5 else max(1, owed // 2)
                entry("patient_payment", -paid, None, later(rng.randint(20, 60)), memo="Card payment")
            if stage >= 3:
                memo = "Placed with a collection agency"
                entry(
                    "write_off",
                    -(owed - paid),
                    None,
                    later(rng.randint(61, 120)),
                    reason="BAD_DEBT",
                    memo=memo,
                )

        for bucket, cents in balance.items():
            chunk.add("accounts_accountbucket", f"{_money(cents)}\t{_id(bucket)}\t{account}")
        patient_cents, all_cents = balance.get(None, 0), sum(balance.values())
        financial_class = FINANCIAL_CLASS[primary[1]] if primary else "self_pay"
        chunk.add(
            "accounts_patientaccount",
            f"{account}\t{uuid()}\t{now}\t{now}\t{'H' if hospital else 'P'}{person.number:09d}{index}\t"
            f"{FACILITIES[kind]}\t{kind}\t{service}\t{service}\t{financial_class}\topen\t"
            f"{_bool(person.interpreter)}\tf\tf\t{_money(all_cents)}\t{_money(all_cents - patient_cents)}\t"
            f"{_money(patient_cents)}\t{credit_on}\t{NULL}\t{NULL}\t{person.guarantor}\t{org}\t{person.patient}",
        )


def number(rng: random.Random) -> str:
    return f"{rng.randrange(10**10):010d}"


def _payer_keys(rng: random.Random, age: int, count: int) -> list[str]:
    """Which payers cover a patient of this age, primary first (Medicaid pays last)."""
    if count == 0:
        return []
    if age >= 65:
        primary = "medicare" if rng.random() < 0.7 else "medicare_advantage"
    else:
        primary = rng.choice(("commercial_a", "commercial_a", "commercial_b", "medicaid"))
        if count == 2 and primary == "medicaid":
            primary = "commercial_a"
    if count == 1:
        return [primary]
    return [primary, "commercial_b" if primary == "commercial_a" else "medicaid"]


def _cumulative(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _uuids(rng: random.Random) -> Any:
    """Version-4 UUIDs from ``rng`` (reproducible with ``--seed``), as 32 hex digits."""
    bits = rng.getrandbits

    def uuid() -> str:
        return f"{(bits(128) & UUID_VERSION_CLEAR) | UUID_VERSION_SET:032x}"

    return uuid


# --- loading ---------------------------------------------------------------------------------------------


def check_columns() -> None:
    """Fail loudly when a model gained (or lost) a column that this generator does not write."""
    with connection.cursor() as cursor:
        for table, columns in COLUMNS.items():
            cursor.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = %s AND table_schema = current_schema()",
                [table],
            )
            actual = {row[0] for row in cursor.fetchall()} - DATABASE_FILLED.get(table, set())
            if actual != set(columns.split()):
                raise CommandError(
                    f"seed_scale: the columns of {table} changed ({sorted(actual ^ set(columns.split()))}); "
                    "update COLUMNS and the row rendering."
                )


def reserve_ids(counts: dict[str, int]) -> dict[str, int]:
    """Take a range of ``counts[table]`` ids from each table's sequence; returns each range's first id.

    The tables are locked (SHARE ROW EXCLUSIVE: readers go on, writers wait) for the instant
    between ``nextval`` and ``setval``, so no concurrent insert takes a number inside a range.
    """
    tables = [table for table in RESERVED if table in counts]
    first = {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN SHARE ROW EXCLUSIVE MODE")
        for table in tables:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s)", [sequence])
            first[table] = cursor.fetchone()[0]
            if counts[table] > 1:
                cursor.execute("SELECT setval(%s, %s)", [sequence, first[table] + counts[table] - 1])
    return first


def may_skip_row_checks() -> bool:
    """Whether this role may switch off per-row foreign-key triggers for its own session."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
    return bool(row and row[0])


class Loaders:
    """Threads that COPY rendered chunks, each on its own connection and one transaction per
    chunk, while the main thread renders the next chunks (psycopg2 releases the GIL while it
    sends, so rendering and loading overlap and both database cores stay busy).

    With ``skip_row_checks`` a chunk's transaction runs with ``session_replication_role =
    replica`` (SET LOCAL: that transaction only), which skips the per-row foreign-key
    triggers: twenty-five million single-row lookups for a million accounts, more than half
    of the database's work. ``verify_foreign_keys`` then checks the same references set-based.
    """

    def __init__(self, count: int, *, skip_row_checks: bool) -> None:
        self.skip_row_checks = skip_row_checks
        self.jobs: queue.Queue = queue.Queue(maxsize=count)
        self.errors: list[BaseException] = []
        self.rows = 0
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, name=f"seed-scale-{n}", daemon=True) for n in range(count)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self) -> None:
        try:
            for job in iter(self.jobs.get, None):
                if not self.errors:
                    self._load(job)
        except BaseException as exc:  # handed to the main thread, which raises it
            self.errors.append(exc)
            for _ in iter(self.jobs.get, None):  # drain, so that the producer is never blocked
                pass
        finally:
            connections.close_all()

    def _load(self, tables: dict[str, str]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            # Bench data: a crash loses at most the chunks not yet committed; a rerun loads them.
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            if self.skip_row_checks:
                cursor.execute("SET LOCAL session_replication_role TO replica")
            for table, text in tables.items():
                if text:
                    sql = f"COPY {table} ({', '.join(COLUMNS[table].split())}) FROM STDIN"
                    cursor.cursor.copy_expert(sql, io.BytesIO(text.encode()), 1 << 20)
                    with self.lock:
                        self.rows += text.count("\n")

    def put(self, tables: dict[str, str]) -> None:
        if self.errors:
            raise self.errors[0]
        self.jobs.put(tables)

    def finish(self) -> None:
        for _thread in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join()
        if self.errors:
            raise self.errors[0]


def _ranges(first: dict[str, int]) -> dict[str, Iterator[int]]:
    return {table: iter(range(start, 1 << 62)) for table, start in first.items()}


def _loaded_rows(first: dict[str, int], counts: dict[str, int]) -> dict[str, str]:
    """A WHERE clause per loaded table that picks the rows of this run."""
    where = {table: f"id BETWEEN {first[table]} AND {first[table] + counts[table] - 1}" for table in RESERVED}
    accounts = (
        first["accounts_patientaccount"],
        first["accounts_patientaccount"] + counts["accounts_patientaccount"] - 1,
    )
    for table in ("accounts_ledgerentry", "accounts_accountbucket"):
        where[table] = f"account_id BETWEEN {accounts[0]} AND {accounts[1]}"
    return where


def verify_foreign_keys(where: dict[str, str]) -> list[str]:
    """Every foreign key of the loaded rows, checked with one anti-join per key; returns failures."""
    failures = []
    with connection.cursor() as cursor:
        for table, condition in where.items():
            cursor.execute(
                """
                SELECT a.attname, c.confrelid::regclass::text, f.attname
                FROM pg_constraint c
                JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                JOIN pg_attribute f ON f.attrelid = c.confrelid AND f.attnum = c.confkey[1]
                WHERE c.contype = 'f' AND c.conrelid = %s::regclass
                """,
                [table],
            )
            for column, parent, key in cursor.fetchall():
                # Names from the catalog and a condition made of integers: nothing from outside.
                cursor.execute(
                    f"SELECT count(*) FROM {table} t WHERE {condition} AND t.{column} IS NOT NULL "  # noqa: S608
                    f"AND NOT EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = t.{column})"
                )
                missing = cursor.fetchone()[0]
                if missing:
                    failures.append(f"{table}.{column}: {missing} rows point to no {parent}")
    return failures


SAMPLED_DRIFT_SQL = """
WITH sample AS (
    SELECT id, balance, patient_balance FROM accounts_patientaccount
    WHERE id BETWEEN %(low)s AND %(high)s ORDER BY random() LIMIT %(size)s
), sums AS (
    SELECT l.account_id, l.coverage_id, SUM(l.amount) AS total
    FROM accounts_ledgerentry l JOIN sample s ON s.id = l.account_id GROUP BY 1, 2
), buckets AS (
    SELECT b.account_id, b.coverage_id, b.balance
    FROM accounts_accountbucket b JOIN sample s ON s.id = b.account_id
)
SELECT count(*) FROM (
    SELECT 1 FROM buckets b FULL JOIN sums t
      ON t.account_id = b.account_id AND t.coverage_id IS NOT DISTINCT FROM b.coverage_id
    WHERE COALESCE(b.balance, 0) <> COALESCE(t.total, 0)
    UNION ALL
    SELECT 1 FROM sample s
    WHERE s.balance <> COALESCE((SELECT SUM(total) FROM sums WHERE account_id = s.id), 0)
       OR s.patient_balance <> COALESCE(
            (SELECT balance FROM buckets WHERE account_id = s.id AND coverage_id IS NULL), 0)
) AS drift
"""


def sampled_drift(first_account: int, accounts: int, size: int = 2000) -> int:
    """``ledger_drift()`` over a random sample of the loaded accounts: how many differ."""
    with connection.cursor() as cursor:
        cursor.execute(
            SAMPLED_DRIFT_SQL, {"low": first_account, "high": first_account + accounts - 1, "size": size}
        )
        return cursor.fetchone()[0]


def ensure_organization(slug: str) -> Organization:
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        organization = Organization.objects.create(
            slug=slug,
            name=f"Scale Test Hospital ({slug})",
            kind=Organization.Kind.HOSPITAL,
            time_zone="America/Chicago",
        )
    return organization


def grow_ledger(account: PatientAccount, lines: int, *, seed: int = 1) -> int:
    """Append about ``lines`` ledger entries to one account with COPY; returns how many were added.

    The account becomes a long-running series account (a dialysis patient seen three times
    a week for years): per visit a charge, the payer's payment and contractual adjustment,
    the coinsurance moved to the patient and the patient's payment. Buckets and balance
    columns are moved by the same amounts, under the account's row lock, so
    ``ledger_drift()`` stays empty. Bench data: COPY, no history (see the module docstring).
    """
    from accounts.models import AccountBucket, Coverage

    visits = max(1, lines // 6)
    rng = random.Random(f"{seed}:grow:{account.pk}")  # noqa: S311 (bench data)
    uuid = _uuids(rng)
    today = timezone.localdate()
    actor = system_user().pk
    now = timezone.now().isoformat()
    with transaction.atomic():
        account = PatientAccount.objects.select_for_update(no_key=True).get(pk=account.pk)
        coverage = Coverage.objects.filter(patient_id=account.patient_id, priority=1).order_by("id").first()
        first_charge = reserve_ids({"accounts_charge": visits})["accounts_charge"]
        charges, ledger = [], []
        delta: dict[int | None, int] = {}
        org, bucket = account.organization_id, coverage.pk if coverage else None

        def entry(
            kind: str, cents: int, target: int | None, when: str, charge: str = NULL, group: str = NULL
        ) -> None:
            delta[target] = delta.get(target, 0) + cents
            ledger.append(
                f"{uuid()}\t{kind}\t{_money(cents)}\t\t{'charge' if kind == 'charge' else 'import'}\t\t"
                f"{group}\t\t{when} 12:00:00+00\t{when}\t{actor}\t{charge}\t{_id(target)}\t{org}\t"
                f"{NULL}\t{account.pk}"
            )

        for visit in range(visits):
            day = (today - timedelta(days=(visits - visit) * 2)).isoformat()
            charge, price = first_charge + visit, 389_00 + rng.randrange(0, 40_00)
            charges.append(
                f"{charge}\t{uuid()}\t{now}\t{now}\t\t{day}\trevenue\t0821\t{{}}\t0821\t{{N186,Z992}}\t"
                f"HEMODIALYSIS OUTPATIENT\t1\t{_money(price)}\t\t\t{NULL}\t\t{NULL}\t{NULL}\tposted\t{org}\t"
                f"{account.pk}"
            )
            entry("charge", price, bucket, day, charge=str(charge))
            if bucket is None:
                entry("other_adjustment", -(price * 40 // 100), None, day)
                entry("patient_payment", -(price - price * 40 // 100), None, day)
                continue
            allowed = price * 45 // 100
            share = allowed // 5
            entry("insurance_payment", -(allowed - share), bucket, day)
            entry("contractual_adjustment", -(price - allowed), bucket, day)
            group = uuid()
            entry("transfer", -share, bucket, day, group=group)
            entry("transfer", share, None, day, group=group)
            entry("patient_payment", -share, None, day)
        with connection.cursor() as cursor:
            for table, rows in (("accounts_charge", charges), ("accounts_ledgerentry", ledger)):
                sql = f"COPY {table} ({', '.join(COLUMNS[table].split())}) FROM STDIN"
                cursor.cursor.copy_expert(sql, io.BytesIO(("\n".join(rows) + "\n").encode()), 1 << 20)
        for target, cents in delta.items():
            # A plain UPDATE, as accounts.ledger does: balances are audited by the entries themselves.
            moved = AccountBucket.objects.filter(account=account, coverage_id=target).update(
                balance=models.F("balance") + Decimal(cents) / 100
            )
            if not moved:
                AccountBucket.objects.create(
                    account=account, coverage_id=target, balance=Decimal(cents) / 100
                )
        patient_delta = Decimal(delta.get(None, 0)) / 100
        total_delta = Decimal(sum(delta.values())) / 100
        PatientAccount.objects.filter(pk=account.pk).update(
            balance=models.F("balance") + total_delta,
            patient_balance=models.F("patient_balance") + patient_delta,
            insurance_balance=models.F("insurance_balance") + total_delta - patient_delta,
        )
    return len(ledger)


def plans_by_payer(organization: Organization) -> dict[str, list[PlanChoice]]:
    if not payers_demo.payers_present(organization):
        payers_demo.seed_organization(organization, published_by=system_user())
    keys = {payer.pk: key for key, payer in payers_demo.payers_by_key(organization).items()}
    plans: dict[str, list[PlanChoice]] = {}
    for plan in Plan.objects.filter(organization=organization, payer_id__in=keys).order_by("id"):
        plans.setdefault(keys[plan.payer_id], []).append(
            PlanChoice(plan.pk, keys[plan.payer_id], plan.group_number)
        )
    missing = set(PAYMENT_TERMS) - set(plans)
    if missing:
        raise CommandError(f"seed_scale: {organization.slug} has no plans of {sorted(missing)}")
    return plans


def analyze() -> None:
    with connection.cursor() as cursor:
        for table in COLUMNS:
            cursor.execute(f"ANALYZE {table}")


class Command(AuditedCommand):
    help = (
        "Load bench data for one organization with COPY: N patients, about N accounts, ~5 ledger lines each."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--accounts", type=int, required=True, help="patients to have (about one account each)"
        )
        parser.add_argument(
            "--organization", default="scale", help="slug; created when absent (default: scale)"
        )
        parser.add_argument(
            "--ledger-lines", type=float, default=5.0, help="ledger entries per account, on average"
        )
        parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same data)")
        parser.add_argument("--chunk", type=int, default=20_000, help="patients per COPY transaction")
        parser.add_argument(
            "--jobs", type=int, default=2, help="COPY connections working at once (default 2)"
        )

    def say(self, message: str, started: float) -> None:
        self.stdout.write(f"[{time.perf_counter() - started:7.1f} s] {message}")
        self.stdout.flush()

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        target, chunk = options["accounts"], options["chunk"]
        if target < 1 or chunk < 1:
            raise CommandError("--accounts and --chunk must be positive")
        check_columns()
        organization = ensure_organization(options["organization"])
        plans = plans_by_payer(organization)
        present = Patient.objects.filter(organization=organization).count()
        if present >= target:
            self.stdout.write(f"{organization.slug} already has {present:,} patients; nothing to do.")
            return
        # Number new patients after the highest so far (chunks commit in any order, so an
        # interrupted run may have left a gap; the count decides how many are still missing).
        highest = (
            Patient.objects.filter(organization=organization, external_id__regex=r"^S[0-9]{9}$")
            .order_by("-external_id")
            .values_list("external_id", flat=True)
            .first()
        )
        begin = int(highest[1:]) + 1 if highest else 0
        end = begin + target - present
        generator = Generator(
            organization=organization,
            plans=plans,
            actor_id=system_user().pk,
            seed=options["seed"],
            ledger_lines=options["ledger_lines"],
            today=timezone.localdate(),
        )
        starts = list(range(begin, end, chunk))
        counts = dict.fromkeys(RESERVED, 0)
        for start in starts:
            for table, count in Generator.counts(generator.shapes(start, min(end, start + chunk))).items():
                counts[table] += count
        first = reserve_ids(counts)
        ids = _ranges(first)
        skip_row_checks = may_skip_row_checks()
        self.say(
            f"{organization.slug}: adding {end - begin:,} patients, {counts['accounts_patientaccount']:,} "
            f"accounts and {counts['accounts_charge']:,} charges in {len(starts)} chunks of {chunk:,}; "
            "foreign keys checked " + ("set-based after the load" if skip_row_checks else "row by row"),
            started,
        )
        loaders = Loaders(max(1, options["jobs"]), skip_row_checks=skip_row_checks)
        try:
            for done, start in enumerate(starts, start=1):
                loaders.put(generator.render(start, generator.shapes(start, min(end, start + chunk)), ids))
                if done % 5 == 0 or done == len(starts):
                    self.say(f"chunk {done}/{len(starts)} rendered, {loaders.rows:,} rows loaded", started)
            # Rendering must have used exactly the reserved ids: one more would belong to the sequence.
            for table in RESERVED:
                if next(ids[table]) != first[table] + counts[table]:
                    raise CommandError(f"seed_scale: {table} ids used differ from those reserved")
        finally:
            loaders.finish()
        close_old_connections()
        self.say(f"loaded {loaders.rows:,} rows", started)
        analyze()
        self.say("analyzed", started)
        where = _loaded_rows(first, counts)
        if skip_row_checks:
            failures = verify_foreign_keys(where)
            if failures:
                raise CommandError("seed_scale: broken references: " + "; ".join(failures))
            self.say("foreign keys verified", started)
        drift = sampled_drift(first["accounts_patientaccount"], counts["accounts_patientaccount"])
        if drift:
            raise CommandError(f"seed_scale: {drift} sampled accounts differ from their ledger")
        self.say("balances equal the ledger on 2,000 sampled accounts", started)
        self.stdout.write(
            self.style.SUCCESS(
                f"Done in {time.perf_counter() - started:.1f} s: {organization.slug} has "
                f"{Patient.objects.filter(organization=organization).count():,} patients, "
                f"{PatientAccount.objects.filter(organization=organization).count():,} accounts and "
                f"{LedgerEntry.objects.filter(organization=organization).count():,} ledger entries."
            )
        )
