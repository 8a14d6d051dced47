import { useId, useState } from "react";
import { useQuery } from "urql";
import { PickConcepts } from "./operations";
import { useDebounced } from "./useDebounced";

export interface Picked {
  id: string;
  slug: string;
  name: string;
}

/** A search-as-you-type choice of one concept (a combobox with a list of matches). */
export function ConceptPicker({
  label,
  value,
  onPick,
}: {
  label: string;
  value: Picked | null;
  onPick: (concept: Picked) => void;
}) {
  const id = useId();
  const [text, setText] = useState(value?.name ?? "");
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const search = useDebounced(text.trim(), 120);
  const [result] = useQuery({
    query: PickConcepts,
    variables: { search },
    pause: !open || search.length === 0,
  });
  const options = open && search ? (result.data?.concepts.nodes ?? []) : [];
  const choose = (concept: Picked) => {
    onPick(concept);
    setText(concept.name);
    setOpen(false);
  };
  return (
    <div className="picker">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        role="combobox"
        aria-expanded={options.length > 0}
        aria-controls={`${id}-list`}
        aria-autocomplete="list"
        aria-activedescendant={options.length ? `${id}-${active}` : undefined}
        autoComplete="off"
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
          setActive(0);
        }}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
        onKeyDown={(event) => {
          if (event.key === "ArrowDown") {
            event.preventDefault();
            setActive((a) => Math.min(a + 1, options.length - 1));
          } else if (event.key === "ArrowUp") {
            event.preventDefault();
            setActive((a) => Math.max(a - 1, 0));
          } else if (event.key === "Enter" && options[active]) {
            event.preventDefault();
            choose(options[active]);
          } else if (event.key === "Escape") {
            setOpen(false);
          }
        }}
      />
      {options.length > 0 && (
        <ul id={`${id}-list`} role="listbox" className="options">
          {options.map((option, i) => (
            <li
              key={option.id}
              id={`${id}-${i}`}
              role="option"
              aria-selected={i === active}
              onMouseDown={(event) => {
                event.preventDefault();
                choose(option);
              }}
            >
              {option.name}
              {option.tradition ? <span className="meta"> · {option.tradition}</span> : null}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
