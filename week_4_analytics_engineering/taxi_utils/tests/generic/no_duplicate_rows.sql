{#- Fails on each row that appears more than once with every column equal (a file loaded twice, say). Columns may be
    listed; by default all of the relation's columns are compared. -#}
{% test no_duplicate_rows(model, columns=none) %}

{%- set names = columns or (adapter.get_columns_in_relation(model) | map(attribute='name') | list) -%}
select {{ names | join(', ') }}, count(*) as copies
from {{ model }}
group by {{ names | join(', ') }}
having count(*) > 1

{% endtest %}
