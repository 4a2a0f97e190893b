{#- One hash over several columns, as a stable key. NULLs become a marker first, so (1, NULL) and (NULL, 1) differ
    and a NULL does not make the whole key NULL. dbt.hash / dbt.concat / dbt.type_string are dbt's cross-database
    macros, so this works on any warehouse. -#}
{% macro generate_surrogate_key(field_list) -%}
    {%- set fields = [] -%}
    {%- for field in field_list -%}
        {%- do fields.append(
            "coalesce(cast(" ~ field ~ " as " ~ dbt.type_string() ~ "), '_null_')"
        ) -%}
        {%- if not loop.last %}{% do fields.append("'-'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(fields)) }}
{%- endmacro %}
