"""Validates an OpenAPI document against the OpenAPI 3.1 schema (openapi-spec-validator)."""
import sys

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

spec, _ = read_from_filename(sys.argv[1])
validate(spec)
print(f"{sys.argv[1]}: valid OpenAPI {spec['openapi']}")
