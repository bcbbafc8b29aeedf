"""Seeded English sentence generator: a few hundred common words in simple grammar templates.

The text goes to espeak (with punctuation, which shapes prosody and pauses); the transcript is the
same words, upper-case, without punctuation. Only letters A-Z appear in words, so the `.ltr`
alphabet is 26 letters plus `|`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# (singular, plural)
NOUNS = [
    ("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("horse", "horses"), ("fish", "fish"),
    ("child", "children"), ("man", "men"), ("woman", "women"), ("teacher", "teachers"),
    ("doctor", "doctors"), ("farmer", "farmers"), ("friend", "friends"), ("king", "kings"),
    ("queen", "queens"), ("boy", "boys"), ("girl", "girls"), ("family", "families"),
    ("city", "cities"), ("house", "houses"), ("garden", "gardens"), ("river", "rivers"),
    ("mountain", "mountains"), ("forest", "forests"), ("road", "roads"), ("window", "windows"),
    ("door", "doors"), ("table", "tables"), ("chair", "chairs"), ("book", "books"),
    ("letter", "letters"), ("story", "stories"), ("song", "songs"), ("picture", "pictures"),
    ("car", "cars"), ("boat", "boats"), ("train", "trains"), ("ship", "ships"), ("apple", "apples"),
    ("box", "boxes"), ("glass", "glasses"), ("church", "churches"), ("village", "villages"),
    ("island", "islands"), ("field", "fields"), ("tree", "trees"), ("flower", "flowers"),
    ("stone", "stones"), ("bridge", "bridges"), ("school", "schools"), ("market", "markets"),
    ("kitchen", "kitchens"), ("room", "rooms"), ("lamp", "lamps"), ("clock", "clocks"),
    ("key", "keys"), ("bag", "bags"), ("coat", "coats"), ("hat", "hats"), ("shoe", "shoes"),
    ("ball", "balls"), ("game", "games"), ("plan", "plans"), ("question", "questions"),
    ("answer", "answers"), ("idea", "ideas"), ("problem", "problems"), ("student", "students"),
    ("soldier", "soldiers"), ("sailor", "sailors"), ("baker", "bakers"), ("neighbor", "neighbors"),
    ("brother", "brothers"), ("sister", "sisters"), ("mother", "mothers"), ("father", "fathers"),
    ("painter", "painters"), ("driver", "drivers"), ("stranger", "strangers"), ("rabbit", "rabbits"),
    ("mouse", "mice"), ("wolf", "wolves"), ("sheep", "sheep"), ("cow", "cows"), ("duck", "ducks"),
    ("letter", "letters"), ("paper", "papers"), ("pencil", "pencils"), ("cup", "cups"),
    ("plate", "plates"), ("basket", "baskets"), ("candle", "candles"), ("blanket", "blankets"),
    ("machine", "machines"), ("engine", "engines"), ("wheel", "wheels"), ("rope", "ropes"),
    ("ring", "rings"), ("coin", "coins"), ("map", "maps"), ("ticket", "tickets"), ("gift", "gifts"),
    ("cake", "cakes"), ("orange", "oranges"), ("potato", "potatoes"), ("egg", "eggs"),
    ("shirt", "shirts"), ("boot", "boots"), ("tower", "towers"), ("castle", "castles"),
    ("office", "offices"), ("hospital", "hospitals"), ("library", "libraries"), ("hotel", "hotels"),
    ("museum", "museums"), ("valley", "valleys"), ("lake", "lakes"), ("beach", "beaches"),
    ("hill", "hills"), ("treasure", "treasures"), ("television", "televisions"), ("garage", "garages"), ("path", "paths"), ("wall", "walls"), ("roof", "roofs"), ("fence", "fences"),
]

ADJECTIVES = [
    "big", "small", "old", "young", "new", "happy", "sad", "quiet", "loud", "bright", "dark", "warm",
    "cold", "green", "red", "blue", "white", "black", "yellow", "brown", "tall", "short", "long",
    "heavy", "light", "strong", "gentle", "careful", "busy", "tired", "hungry", "clever", "simple",
    "strange", "beautiful", "ancient", "empty", "narrow", "wide", "quick", "slow", "friendly",
    "angry", "lonely", "famous", "rich", "poor", "clean", "dirty", "soft", "hard", "sweet", "bitter",
    "wild", "calm", "proud", "brave", "honest", "curious", "patient", "modern", "broken", "golden",
    "wooden", "silver", "huge", "tiny", "early", "noisy", "pleasant", "serious", "useful",
]

# (base, third person singular, past)
TRANSITIVE = [
    ("see", "sees", "saw"), ("find", "finds", "found"), ("take", "takes", "took"),
    ("make", "makes", "made"), ("bring", "brings", "brought"), ("carry", "carries", "carried"),
    ("open", "opens", "opened"), ("close", "closes", "closed"), ("watch", "watches", "watched"),
    ("follow", "follows", "followed"), ("visit", "visits", "visited"), ("paint", "paints", "painted"),
    ("build", "builds", "built"), ("read", "reads", "read"), ("write", "writes", "wrote"),
    ("buy", "buys", "bought"), ("sell", "sells", "sold"), ("keep", "keeps", "kept"),
    ("leave", "leaves", "left"), ("hold", "holds", "held"), ("push", "pushes", "pushed"),
    ("pull", "pulls", "pulled"), ("clean", "cleans", "cleaned"), ("fix", "fixes", "fixed"),
    ("like", "likes", "liked"), ("love", "loves", "loved"), ("need", "needs", "needed"),
    ("want", "wants", "wanted"), ("call", "calls", "called"), ("help", "helps", "helped"),
    ("ask", "asks", "asked"), ("remember", "remembers", "remembered"), ("forget", "forgets", "forgot"),
    ("catch", "catches", "caught"), ("throw", "throws", "threw"), ("draw", "draws", "drew"),
    ("give", "gives", "gave"), ("show", "shows", "showed"), ("teach", "teaches", "taught"),
    ("meet", "meets", "met"), ("lose", "loses", "lost"), ("wash", "washes", "washed"),
    ("cook", "cooks", "cooked"), ("move", "moves", "moved"), ("count", "counts", "counted"),
    ("climb", "climbs", "climbed"), ("cross", "crosses", "crossed"), ("share", "shares", "shared"),
    ("hide", "hides", "hid"), ("search", "searches", "searched"), ("protect", "protects", "protected"),
    ("describe", "describes", "described"), ("borrow", "borrows", "borrowed"),
]

INTRANSITIVE = [
    ("sleep", "sleeps", "slept"), ("run", "runs", "ran"), ("walk", "walks", "walked"),
    ("smile", "smiles", "smiled"), ("laugh", "laughs", "laughed"), ("wait", "waits", "waited"),
    ("sing", "sings", "sang"), ("dance", "dances", "danced"), ("swim", "swims", "swam"),
    ("arrive", "arrives", "arrived"), ("rest", "rests", "rested"), ("travel", "travels", "traveled"),
    ("work", "works", "worked"), ("listen", "listens", "listened"), ("return", "returns", "returned"),
    ("play", "plays", "played"), ("sit", "sits", "sat"), ("stand", "stands", "stood"),
    ("jump", "jumps", "jumped"), ("shout", "shouts", "shouted"), ("whisper", "whispers", "whispered"),
    ("fall", "falls", "fell"), ("stay", "stays", "stayed"), ("study", "studies", "studied"),
    ("wander", "wanders", "wandered"), ("hurry", "hurries", "hurried"), ("begin", "begins", "began"),
]

ADVERBS = [
    "quickly", "slowly", "quietly", "carefully", "happily", "early", "late", "again", "together",
    "today", "yesterday", "often", "always", "never", "soon", "suddenly", "finally", "gladly",
    "loudly", "gently", "easily", "badly", "rarely", "sometimes", "later", "twice", "usually",
]

PREPOSITIONS = [
    "in", "near", "across", "under", "behind", "along", "into", "through", "over", "beside", "at",
    "inside", "outside", "around", "below", "above", "toward", "past",
]

NAMES = [
    "Anna", "Peter", "Maria", "John", "Sarah", "David", "Emma", "Thomas", "Laura", "Michael",
    "Alice", "Robert", "James", "Helen", "George", "Susan", "Daniel", "Rachel", "Henry", "Lucy",
    "Oliver", "Grace", "William", "Rose", "Martin", "Clara", "Samuel", "Julia",
]

TIMES = [
    "in the morning", "at night", "last week", "every day", "after dinner", "before sunrise",
    "on monday", "on friday", "this evening", "last summer", "in the winter", "at noon",
    "after school", "the next day", "a long time ago", "every year",
]

NUMBERS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "twelve", "twenty"]

SINGULAR_DETERMINERS = ["the", "a", "this", "that", "every", "my", "your", "his", "her", "our", "their"]
PLURAL_DETERMINERS = ["the", "these", "those", "some", "many", "my", "our", "their", "your"]


@dataclass(frozen=True)
class Sentence:
    text: str  # what espeak reads (punctuation included)
    words: tuple[str, ...]  # the transcript, upper-case


class SentenceGenerator:
    """Random sentences from templates; the same seed gives the same sequence."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    # --- phrases --------------------------------------------------------------------------------
    def _noun_phrase(self, plural: bool | None = None, allow_name: bool = True) -> tuple[str, bool]:
        r = self.rng
        if plural is None:
            plural = r.random() < 0.35
        if allow_name and not plural and r.random() < 0.2:
            return r.choice(NAMES), False
        sg, pl = r.choice(NOUNS)
        noun = pl if plural else sg
        if plural:
            det = r.choice(NUMBERS) if r.random() < 0.25 else r.choice(PLURAL_DETERMINERS)
        else:
            det = r.choice(SINGULAR_DETERMINERS)
        adj = r.choice(ADJECTIVES) if r.random() < 0.5 else None
        if det == "a" and (adj or noun)[0] in "aeiou":
            det = "an"
        return " ".join(w for w in (det, adj, noun) if w), plural

    def _place(self) -> str:
        np_, _ = self._noun_phrase(allow_name=False)
        return f"{self.rng.choice(PREPOSITIONS)} {np_}"

    def _maybe(self, p: float, text: str) -> str:
        return text if self.rng.random() < p else ""

    # --- clauses ------------------------------------------------------------------------------
    def _past_clause(self) -> str:
        r = self.rng
        subj, _ = self._noun_phrase()
        if r.random() < 0.6:
            verb = r.choice(TRANSITIVE)[2]
            obj, _ = self._noun_phrase()
            parts = [subj, verb, obj, self._maybe(0.35, self._place()), self._maybe(0.25, r.choice(ADVERBS))]
        else:
            verb = r.choice(INTRANSITIVE)[2]
            parts = [subj, verb, self._maybe(0.3, r.choice(ADVERBS)), self._maybe(0.6, self._place())]
        return " ".join(p for p in parts if p)

    def _present_clause(self) -> str:
        r = self.rng
        subj, plural = self._noun_phrase()
        base, third, _ = r.choice(TRANSITIVE)
        obj, _ = self._noun_phrase()
        tail = self._maybe(0.5, r.choice(TIMES))
        return " ".join(p for p in (subj, base if plural else third, obj, tail) if p)

    def _sentence(self) -> tuple[str, str]:
        """(text, end punctuation)."""
        r = self.rng
        kind = r.randrange(9)
        if kind == 0:
            return self._past_clause(), "."
        if kind == 1:
            return f"{r.choice(TIMES)}, {self._past_clause()}", "."
        if kind == 2:
            return self._present_clause(), "."
        if kind == 3:
            subj, _ = self._noun_phrase()
            base = r.choice(TRANSITIVE)[0]
            obj, _ = self._noun_phrase()
            return f"did {subj} {base} {obj}", "?"
        if kind == 4:
            subj, plural = self._noun_phrase()
            be = "were" if plural else "was"
            return f"{subj} {be} {r.choice(ADJECTIVES)} because {self._past_clause()}", "."
        if kind == 5:
            np_, plural = self._noun_phrase(allow_name=False)
            be = "were" if plural else "was"
            return f"there {be} {np_} {self._place()}", "."
        if kind == 6:
            subj, _ = self._noun_phrase()
            verb = r.choice(TRANSITIVE)[0]
            obj, _ = self._noun_phrase()
            return f"{subj} will {verb} {obj} {r.choice(['tomorrow', 'next week', 'soon', 'later'])}", "."
        if kind == 7:
            a, _ = self._noun_phrase(plural=False)
            b, _ = self._noun_phrase(plural=False)
            verb = r.choice(INTRANSITIVE)[2]
            return f"{a} and {b} {verb} together {self._place()}", "."
        subj, _ = self._noun_phrase()
        return f"{subj} said that {self._past_clause()}", "."

    def sentence(self, max_sentences: int = 2) -> Sentence:
        """One utterance: one sentence, sometimes two (joined with their punctuation)."""
        count = 1 if self.rng.random() < 0.7 else self.rng.randint(2, max(2, max_sentences))
        texts, words = [], []
        for _ in range(count):
            body, end = self._sentence()
            body = body[0].upper() + body[1:]
            texts.append(body + end)
            words.extend(w.strip(",").upper() for w in body.split())
        return Sentence(" ".join(texts), tuple(words))


def vocabulary() -> list[str]:
    """Every word the generator can emit, upper-case, sorted."""
    words: set[str] = set()
    for group in (ADJECTIVES, ADVERBS, PREPOSITIONS, NAMES, NUMBERS, SINGULAR_DETERMINERS, PLURAL_DETERMINERS):
        words.update(group)
    for pair in NOUNS:
        words.update(pair)
    for triple in TRANSITIVE + INTRANSITIVE:
        words.update(triple)
    for phrase in TIMES:
        words.update(phrase.split())
    words.update("an did was were there because will tomorrow next week soon later and together said that".split())
    return sorted(w.upper() for w in words)
