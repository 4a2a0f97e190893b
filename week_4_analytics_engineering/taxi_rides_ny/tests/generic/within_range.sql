{#- A custom generic test: fails on every row whose value lies outside [min_value, max_value] (empty is fine).
    Used in YAML like the built-in ones: `data_tests: [within_range: {arguments: {min_value: 0, max_value: 9}}]`. -#}
{% test within_range(model, column_name, min_value, max_value) %}

select {{ column_name }} as value
from {{ model }}
where {{ column_name }} < {{ min_value }} or {{ column_name }} > {{ max_value }}

{% endtest %}
