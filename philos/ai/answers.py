"""The shapes the AI mutations' answers must have.

The model answers by calling one tool, whose input schema is the answer's model below: the
pydantic models are the schemas (``StructuredOutput.schema`` is their JSON schema, and
``parse`` validates an answer against them again on our side). Changing a shape means changing
``PROMPT_VERSION`` in ``philos/ai/prompts.py``.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeVar
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, field_validator

from philos.datasources.ports import StructuredOutput
from philos.validation import MIN_YEAR, max_year

T = TypeVar("T", bound=BaseModel)


def structured(model: type[T], name: str, description: str) -> StructuredOutput[T]:
    return StructuredOutput(
        name=name,
        description=description,
        schema=model.model_json_schema(),
        parse=model.model_validate,
    )


# Answer shapes ------------------------------------------------------------------------------
# They mirror the rules human input must pass (philos/validation.py): an answer that would not
# be accepted from a person is not accepted from the model either.


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


StanceName = Literal["AFFIRMS", "DENIES", "QUALIFIES"]
RelationTypeName = Literal[
    "IS_A",
    "PART_OF",
    "INFLUENCED_BY",
    "DERIVES_FROM",
    "OPPOSES",
    "CONTRADICTS",
    "ENTAILS",
    "REFINES",
    "ANALOGOUS_TO",
    "RELATED_TO",
]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]


class SourceAnswer(Answer):
    author: str = Field(min_length=1, max_length=200)
    work: str = Field(min_length=1, max_length=300)
    year: int | None = Field(description="Year of the work; BCE negative; null if unsure.")
    url: str | None = Field(description="An http(s) URL you are sure of, else null.")

    @field_validator("year")
    @classmethod
    def _year(cls, value: int | None) -> int | None:
        if value is not None and not MIN_YEAR <= value <= max_year():
            raise ValueError(f"year must be between {MIN_YEAR} and {max_year()}")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlparse(value)
        if len(value) > 300 or parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("url must be an absolute http(s) URL of at most 300 characters")
        return value


class ArgumentAnswer(Answer):
    polarity: Literal["PRO", "CON"]
    text: str = Field(min_length=10, max_length=1000)
    strength: Unit = Field(description="0 (weak) to 1 (decisive).")


class ThesisAnswer(Answer):
    statement: str = Field(min_length=10, max_length=1000)
    stance: StanceName
    arguments: list[ArgumentAnswer] = Field(min_length=1, max_length=6)
    sources: list[SourceAnswer] = Field(max_length=4)


class GeneratedTheses(Answer):
    theses: list[ThesisAnswer] = Field(min_length=1, max_length=5)


class SuggestedRelation(Answer):
    source_id: str = Field(description="Id of the source concept (the concept or a candidate).")
    target_id: str = Field(description="Id of the target concept (the concept or a candidate).")
    type: RelationTypeName
    weight: Unit = Field(description="How strong or central the link is.")
    rationale: str = Field(min_length=10, max_length=300)


class SuggestedRelations(Answer):
    suggestions: list[SuggestedRelation] = Field(max_length=10)


class ThinkerAnswer(Answer):
    name: str = Field(min_length=1, max_length=120)
    contribution: str = Field(min_length=10, max_length=500)


class RelatedConceptAnswer(Answer):
    concept_id: str = Field(description="Id of one of the candidate concepts.")
    reason: str = Field(min_length=10, max_length=300)


class ConceptAnalysisAnswer(Answer):
    summary: str = Field(min_length=20, max_length=1500)
    key_thinkers: list[ThinkerAnswer] = Field(max_length=8)
    tensions: list[Annotated[str, Field(min_length=10, max_length=600)]] = Field(max_length=6)
    open_questions: list[Annotated[str, Field(min_length=10, max_length=400)]] = Field(max_length=6)
    related_concepts: list[RelatedConceptAnswer] = Field(max_length=10)


class SynthesisAnswer(Answer):
    statement: str = Field(min_length=10, max_length=1000)
    stance: StanceName
    arguments: list[ArgumentAnswer] = Field(min_length=1, max_length=6)
    sources: list[SourceAnswer] = Field(max_length=4)


THESES_OUTPUT = structured(
    GeneratedTheses, "record_theses", "Record the theses, each with arguments and sources."
)
RELATIONS_OUTPUT = structured(
    SuggestedRelations, "record_relation_suggestions", "Record the suggested relations."
)
ANALYSIS_OUTPUT = structured(
    ConceptAnalysisAnswer, "record_concept_analysis", "Record the analysis of the concept."
)
SYNTHESIS_OUTPUT = structured(SynthesisAnswer, "record_synthesis", "Record the synthesis.")
