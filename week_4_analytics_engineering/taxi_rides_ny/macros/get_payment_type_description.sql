{#- The payment type code in words. A macro returns SQL text: this one writes a CASE expression. -#}
{% macro get_payment_type_description(payment_type) -%}
    case
        when {{ payment_type }} is null then 'Not recorded'
        else
            case cast({{ payment_type }} as integer)
                when 1 then 'Credit card'
                when 2 then 'Cash'
                when 3 then 'No charge'
                when 4 then 'Dispute'
                when 5 then 'Unknown'
                when 6 then 'Voided trip'
                else 'Unrecognised code'
            end
    end
{%- endmacro %}
