/* qmp-schema-text.c: query-qmp-schema's JSON text straight into a schema
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "qmp-error.h"
#include "qmp-json-private.h"
#include "qmp-schema-private.h"

/* Why a parser of its own: QEMU 7.2's schema is 207 KB of some 20,000
 * JSON objects, and building a JsonNode tree of them (a GHashTable per
 * object) costs several times what the schema itself does.  This reads
 * the text once and keeps only what a schema holds, in its arena.  It
 * checks the JSON as strictly as the library's other parser (UTF-8,
 * escapes, nesting), and each member's type as qmp_schema_new() does:
 * a member of the wrong type is an error only where the meta-type uses
 * it. */

#define MAX_DEPTH 1024

typedef struct
{
  const char *p;
  const char *end;
  const char *start;
  GString *scratch;             /* strings with escapes */
  QmpSchema *schema;
  GError **error;
} Text;

/* The keys of an entity, and of the objects in its arrays. */
typedef enum {
  KEY_NAME,
  KEY_META_TYPE,
  KEY_JSON_TYPE,
  KEY_ELEMENT_TYPE,
  KEY_TAG,
  KEY_ARG_TYPE,
  KEY_RET_TYPE,
  KEY_TYPE,
  KEY_CASE,
  N_STRING_KEYS,
  KEY_ALLOW_OOB = N_STRING_KEYS,
  KEY_FEATURES,
  KEY_MEMBERS,
  KEY_VARIANTS,
  KEY_VALUES,
  KEY_DEFAULT,
  N_KEYS
} Key;

static const char * const key_names[N_KEYS] = {
  "name", "meta-type", "json-type", "element-type", "tag", "arg-type", "ret-type", "type", "case",
  "allow-oob", "features", "members", "variants", "values", "default",
};

/* An object as read: its strings, and which keys came with which type. */
typedef struct
{
  const char *strings[N_STRING_KEYS];
  guint present;                /* bits of Key */
  guint bad;                    /* present, but of the wrong type */
  gboolean allow_oob;
  const char * const *features;
  GArray *members;              /* of Raw, for "members" */
  GArray *variants;             /* of Raw */
  GPtrArray *values;            /* of const char * */
  gboolean nested;              /* in an entity's array: has no arrays but "features" */
} Raw;

static const char * const no_features[] = { NULL };

static gboolean
syntax_error (Text *text)
{
  g_autofree char *what = g_strdup_printf (_("it is not JSON (at byte %zu)"),
                                           (size_t) (text->p - text->start));

  g_set_error (text->error, QMP_ERROR, QMP_ERROR_PROTOCOL,
               _("The server’s schema is malformed: %s"), what);
  return FALSE;
}

static gboolean
not_an_entity (Text  *text,
               guint  index)
{
  g_autofree char *what = g_strdup_printf (_("entry %u is not an object with a “name” and a “meta-type”"),
                                           index);

  g_set_error (text->error, QMP_ERROR, QMP_ERROR_PROTOCOL,
               _("The server’s schema is malformed: %s"), what);
  return FALSE;
}

static void
skip_space (Text *text)
{
  while (text->p < text->end &&
         (*text->p == ' ' || *text->p == '\t' || *text->p == '\n' || *text->p == '\r'))
    text->p++;
}

/* The next significant character, '\0' at the end. */
static char
peek (Text *text)
{
  skip_space (text);
  return text->p < text->end ? *text->p : '\0';
}

static gboolean
expect (Text *text,
        char  c)
{
  if (peek (text) != c)
    return syntax_error (text);
  text->p++;
  return TRUE;
}

/* A string, its opening quote next: *out points into the text (no
 * escapes) or into the scratch buffer, valid until the next string. */
static gboolean
read_string (Text        *text,
             const char **out,
             gsize       *len)
{
  const char *run;

  if (!expect (text, '"'))
    return FALSE;

  run = text->p;
  while (text->p < text->end && *text->p != '"' && *text->p != '\\' && (guchar) *text->p >= 0x20)
    text->p++;

  if (text->p < text->end && *text->p == '"')
    {
      if (!g_utf8_validate_len (run, text->p - run, NULL))
        return syntax_error (text);
      *out = run;
      *len = text->p - run;
      text->p++;
      return TRUE;
    }

  /* Escapes: decoded as the library's parser decodes them. */
  g_string_truncate (text->scratch, 0);
  text->p = run;
  if (_qmp_json_decode_string (&text->p, text->end, text->scratch) != NULL)
    return syntax_error (text);
  *out = text->scratch->str;
  *len = text->scratch->len;
  return TRUE;
}

static gboolean
read_arena_string (Text        *text,
                   const char **out)
{
  const char *str;
  gsize len;

  if (!read_string (text, &str, &len))
    return FALSE;
  *out = _qmp_schema_strndup (text->schema, str, len);
  return TRUE;
}

static gboolean skip_value (Text  *text,
                            guint  depth);

static gboolean
skip_number (Text *text)
{
  if (text->p < text->end && *text->p == '-')
    text->p++;
  if (text->p >= text->end || !g_ascii_isdigit (*text->p))
    return syntax_error (text);
  if (*text->p == '0')
    text->p++;
  else
    while (text->p < text->end && g_ascii_isdigit (*text->p))
      text->p++;
  if (text->p < text->end && *text->p == '.')
    {
      text->p++;
      if (text->p >= text->end || !g_ascii_isdigit (*text->p))
        return syntax_error (text);
      while (text->p < text->end && g_ascii_isdigit (*text->p))
        text->p++;
    }
  if (text->p < text->end && (*text->p == 'e' || *text->p == 'E'))
    {
      text->p++;
      if (text->p < text->end && (*text->p == '+' || *text->p == '-'))
        text->p++;
      if (text->p >= text->end || !g_ascii_isdigit (*text->p))
        return syntax_error (text);
      while (text->p < text->end && g_ascii_isdigit (*text->p))
        text->p++;
    }
  return TRUE;
}

static gboolean
skip_literal (Text       *text,
              const char *literal)
{
  gsize len = strlen (literal);

  if ((gsize) (text->end - text->p) < len || memcmp (text->p, literal, len) != 0)
    return syntax_error (text);
  text->p += len;
  return TRUE;
}

/* Calls @func for each element of an array, '[' next. */
typedef gboolean (*ElementFunc) (Text     *text,
                                 guint     depth,
                                 gpointer  user_data);

static gboolean
each_element (Text        *text,
              guint        depth,
              ElementFunc  func,
              gpointer     user_data)
{
  if (depth > MAX_DEPTH)
    return syntax_error (text);
  if (!expect (text, '['))
    return FALSE;
  if (peek (text) == ']')
    {
      text->p++;
      return TRUE;
    }

  while (TRUE)
    {
      if (!func (text, depth + 1, user_data))
        return FALSE;
      switch (peek (text))
        {
        case ',':
          text->p++;
          break;
        case ']':
          text->p++;
          return TRUE;
        default:
          return syntax_error (text);
        }
    }
}

/* Calls @func for each member of an object, '{' next, with the key
 * (valid until the value is read). */
typedef gboolean (*MemberFunc) (Text       *text,
                                const char *key,
                                gsize       key_len,
                                guint       depth,
                                gpointer    user_data);

static gboolean
each_member (Text       *text,
             guint       depth,
             MemberFunc  func,
             gpointer    user_data)
{
  if (depth > MAX_DEPTH)
    return syntax_error (text);
  if (!expect (text, '{'))
    return FALSE;
  if (peek (text) == '}')
    {
      text->p++;
      return TRUE;
    }

  while (TRUE)
    {
      const char *key;
      gsize key_len;

      if (!read_string (text, &key, &key_len) || !expect (text, ':') ||
          !func (text, key, key_len, depth + 1, user_data))
        return FALSE;
      switch (peek (text))
        {
        case ',':
          text->p++;
          break;
        case '}':
          text->p++;
          return TRUE;
        default:
          return syntax_error (text);
        }
    }
}

static gboolean
skip_member (Text       *text,
             const char *key,
             gsize       key_len,
             guint       depth,
             gpointer    user_data)
{
  return skip_value (text, depth);
}

static gboolean
skip_element (Text     *text,
              guint     depth,
              gpointer  user_data)
{
  return skip_value (text, depth);
}

static gboolean
skip_value (Text  *text,
            guint  depth)
{
  const char *str;
  gsize len;

  switch (peek (text))
    {
    case '{':
      return each_member (text, depth, skip_member, NULL);
    case '[':
      return each_element (text, depth, skip_element, NULL);
    case '"':
      return read_string (text, &str, &len);
    case 't':
      return skip_literal (text, "true");
    case 'f':
      return skip_literal (text, "false");
    case 'n':
      return skip_literal (text, "null");
    default:
      return skip_number (text);
    }
}

/* ------------------------------------------------------- the entities */

static void
raw_clear (Raw *raw)
{
  if (raw->members != NULL)
    g_array_set_size (raw->members, 0);
  if (raw->variants != NULL)
    g_array_set_size (raw->variants, 0);
  if (raw->values != NULL)
    g_ptr_array_set_size (raw->values, 0);
  memset (raw->strings, 0, sizeof raw->strings);
  raw->present = raw->bad = 0;
  raw->allow_oob = FALSE;
  raw->features = no_features;
}

static gboolean
read_string_element (Text     *text,
                     guint     depth,
                     gpointer  user_data)
{
  GPtrArray *strings = user_data;
  const char *str = NULL;

  if (peek (text) == '"')
    {
      if (!read_arena_string (text, &str))
        return FALSE;
    }
  else if (!skip_value (text, depth))
    return FALSE;

  /* NULL marks an element of the wrong type. */
  g_ptr_array_add (strings, (gpointer) str);
  return TRUE;
}

/* An array of strings into @strings; FALSE in *ok if it is not one. */
static gboolean
read_string_array (Text      *text,
                   guint      depth,
                   GPtrArray *strings,
                   gboolean  *ok)
{
  *ok = FALSE;
  g_ptr_array_set_size (strings, 0);
  if (peek (text) != '[')
    return skip_value (text, depth);
  if (!each_element (text, depth, read_string_element, strings))
    return FALSE;

  *ok = TRUE;
  for (guint i = 0; i < strings->len; i++)
    if (strings->pdata[i] == NULL)
      *ok = FALSE;
  return TRUE;
}

static const char * const *
arena_strv (QmpSchema *schema,
            GPtrArray *strings)
{
  const char **strv;

  if (strings->len == 0)
    return no_features;

  strv = _qmp_schema_alloc (schema, (strings->len + 1) * sizeof (char *));
  memcpy (strv, strings->pdata, strings->len * sizeof (char *));
  strv[strings->len] = NULL;
  return strv;
}

static gboolean read_raw_member (Text       *text,
                                 const char *key,
                                 gsize       key_len,
                                 guint       depth,
                                 gpointer    user_data);

typedef struct
{
  Text *text;
  GArray *raws;                 /* of Raw */
  gboolean ok;
} ObjectArray;

static gboolean
read_raw_element (Text     *text,
                  guint     depth,
                  gpointer  user_data)
{
  ObjectArray *array = user_data;
  Raw *raw;

  if (peek (text) != '{')
    {
      array->ok = FALSE;
      return skip_value (text, depth);
    }

  g_array_set_size (array->raws, array->raws->len + 1);
  raw = &g_array_index (array->raws, Raw, array->raws->len - 1);
  memset (raw, 0, sizeof *raw);
  raw->features = no_features;
  raw->nested = TRUE;

  return each_member (text, depth, read_raw_member, raw);
}

/* An array of objects ("members", "variants"), each read as a Raw
 * without arrays of its own but "features". */
static gboolean
read_object_array (Text     *text,
                   guint     depth,
                   GArray   *raws,
                   gboolean *ok)
{
  ObjectArray array = { text, raws, TRUE };

  g_array_set_size (raws, 0);
  *ok = FALSE;
  if (peek (text) != '[')
    return skip_value (text, depth);
  if (!each_element (text, depth, read_raw_element, &array))
    return FALSE;

  *ok = array.ok;
  return TRUE;
}

static Key
find_key (const char *key,
          gsize       key_len)
{
  for (guint k = 0; k < N_KEYS; k++)
    if (strlen (key_names[k]) == key_len && memcmp (key_names[k], key, key_len) == 0)
      return (Key) k;

  return N_KEYS;
}

static gboolean
read_raw_member (Text       *text,
                 const char *key,
                 gsize       key_len,
                 guint       depth,
                 gpointer    user_data)
{
  Raw *raw = user_data;
  Key k = find_key (key, key_len);
  gboolean ok = TRUE;
  char c;

  if (k == N_KEYS)
    return skip_value (text, depth);

  raw->present |= 1u << k;
  raw->bad &= ~(1u << k);       /* the last of duplicate keys counts, as in json-glib */
  c = peek (text);

  if (k < N_STRING_KEYS)
    {
      if (c != '"')
        ok = FALSE;
      else if (!read_arena_string (text, &raw->strings[k]))
        return FALSE;
    }
  else if (k == KEY_ALLOW_OOB)
    {
      if (c == 't' || c == 'f')
        {
          raw->allow_oob = c == 't';
          if (!skip_literal (text, c == 't' ? "true" : "false"))
            return FALSE;
        }
      else
        ok = FALSE;
    }
  else if (k == KEY_FEATURES)
    {
      g_autoptr(GPtrArray) strings = g_ptr_array_new ();

      if (!read_string_array (text, depth, strings, &ok))
        return FALSE;
      raw->features = ok ? arena_strv (text->schema, strings) : no_features;
    }
  else if (k == KEY_MEMBERS || k == KEY_VARIANTS)
    {
      GArray **raws = k == KEY_MEMBERS ? &raw->members : &raw->variants;

      if (raw->nested)
        return skip_value (text, depth);
      if (*raws == NULL)
        *raws = g_array_new (FALSE, TRUE, sizeof (Raw));
      if (!read_object_array (text, depth, *raws, &ok))
        return FALSE;
    }
  else if (k == KEY_VALUES)
    {
      if (raw->nested)
        return skip_value (text, depth);
      if (raw->values == NULL)
        raw->values = g_ptr_array_new ();
      if (!read_string_array (text, depth, raw->values, &ok))
        return FALSE;
    }
  else /* KEY_DEFAULT: only its presence counts */
    return skip_value (text, depth);

  if (!ok)
    {
      raw->bad |= 1u << k;
      if (k < N_STRING_KEYS || k == KEY_ALLOW_OOB)
        return skip_value (text, depth);
    }
  return TRUE;
}

static gboolean
malformed (Text       *text,
           const char *entity,
           const char *key)
{
  g_set_error (text->error, QMP_ERROR, QMP_ERROR_PROTOCOL,
               _("The server’s schema is malformed: “%s”: %s"), entity,
               key != NULL ? key : "");
  return FALSE;
}

/* The string @k of @raw, which the meta-type needs. */
static gboolean
need_string (Text        *text,
             Raw         *raw,
             const char  *entity,
             Key          k,
             const char **out)
{
  if ((raw->present & (1u << k)) == 0 || (raw->bad & (1u << k)) != 0)
    {
      g_autofree char *what = g_strdup_printf (_("“%s” is missing or of the wrong type"), key_names[k]);

      return malformed (text, entity, what);
    }
  *out = raw->strings[k];
  return TRUE;
}

static gboolean
need_array (Text       *text,
            Raw        *raw,
            const char *entity,
            Key         k)
{
  const char *unused;

  if ((raw->present & (1u << k)) != 0 && (raw->bad & (1u << k)) == 0)
    return TRUE;

  /* The same message as for a string. */
  raw->bad |= 1u << k;
  return need_string (text, raw, entity, k, &unused);
}

/* "members" of an object (@named) or an alternate, or "variants". */
static gboolean
build_members (Text              *text,
               GArray            *raws,
               const char        *entity,
               Key                name_key,
               QmpSchemaMember  **out,
               guint             *n_out)
{
  QmpSchemaMember *members;

  *n_out = raws != NULL ? raws->len : 0;
  members = _qmp_schema_alloc (text->schema, MAX (*n_out, 1) * sizeof (QmpSchemaMember));
  for (guint i = 0; i < *n_out; i++)
    {
      Raw *raw = &g_array_index (raws, Raw, i);
      QmpSchemaMember *m = &members[i];

      if ((name_key != N_KEYS && !need_string (text, raw, entity, name_key, &m->name)) ||
          !need_string (text, raw, entity, KEY_TYPE, &m->type_name))
        return FALSE;
      if ((raw->bad & (1u << KEY_FEATURES)) != 0)
        return need_array (text, raw, entity, KEY_FEATURES);
      m->features = raw->features;
      m->optional = (raw->present & (1u << KEY_DEFAULT)) != 0;
      m->deprecated = _qmp_schema_features_have (m->features, "deprecated");
    }

  *out = members;
  return TRUE;
}

static gboolean
build_enum (Text            *text,
            Raw             *raw,
            QmpSchemaEntity *entity)
{
  const char **values;

  if ((raw->present & (1u << KEY_MEMBERS)) != 0)
    {
      if (!need_array (text, raw, entity->name, KEY_MEMBERS))
        return FALSE;
      entity->n_values = raw->members->len;
      values = _qmp_schema_alloc (text->schema, (entity->n_values + 1) * sizeof (char *));
      entity->value_features = _qmp_schema_alloc (text->schema, (entity->n_values + 1) * sizeof (char **));
      for (guint i = 0; i < entity->n_values; i++)
        {
          Raw *member = &g_array_index (raw->members, Raw, i);

          if (!need_string (text, member, entity->name, KEY_NAME, &values[i]) ||
              ((member->bad & (1u << KEY_FEATURES)) != 0 &&
               !need_array (text, member, entity->name, KEY_FEATURES)))
            return FALSE;
          entity->value_features[i] = member->features;
        }
    }
  else
    {
      if (!need_array (text, raw, entity->name, KEY_VALUES))
        return FALSE;
      entity->n_values = raw->values->len;
      values = _qmp_schema_alloc (text->schema, (entity->n_values + 1) * sizeof (char *));
      entity->value_features = _qmp_schema_alloc (text->schema, (entity->n_values + 1) * sizeof (char **));
      for (guint i = 0; i < entity->n_values; i++)
        {
          values[i] = raw->values->pdata[i];
          entity->value_features[i] = no_features;
        }
    }

  values[entity->n_values] = NULL;
  entity->values = values;
  return TRUE;
}

static gboolean
build_entity (Text  *text,
              Raw   *raw,
              guint  index)
{
  static const struct { const char *name; QmpSchemaEntityKind kind; } kinds[] = {
    { "builtin", ENTITY_BUILTIN },
    { "enum", ENTITY_ENUM },
    { "array", ENTITY_ARRAY },
    { "object", ENTITY_OBJECT },
    { "alternate", ENTITY_ALTERNATE },
    { "command", ENTITY_COMMAND },
    { "event", ENTITY_EVENT },
  };
  QmpSchemaEntity *entity;
  const char *name;

  if ((raw->present & (1u << KEY_NAME)) == 0 || (raw->bad & (1u << KEY_NAME)) != 0 ||
      (raw->present & (1u << KEY_META_TYPE)) == 0 || (raw->bad & (1u << KEY_META_TYPE)) != 0)
    return not_an_entity (text, index);

  name = raw->strings[KEY_NAME];
  entity = _qmp_schema_alloc (text->schema, sizeof (QmpSchemaEntity));
  entity->name = name;
  entity->kind = ENTITY_UNKNOWN;
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (raw->strings[KEY_META_TYPE], kinds[i].name))
      entity->kind = kinds[i].kind;

  if ((raw->bad & (1u << KEY_FEATURES)) != 0)
    return need_array (text, raw, name, KEY_FEATURES);
  entity->features = raw->features;
  entity->deprecated = _qmp_schema_features_have (entity->features, "deprecated");

  switch (entity->kind)
    {
    case ENTITY_BUILTIN:
      if (!need_string (text, raw, name, KEY_JSON_TYPE, &entity->json_type))
        return FALSE;
      entity->json_kind = _qmp_schema_json_kind (entity->json_type);
      break;

    case ENTITY_ENUM:
      if (!build_enum (text, raw, entity))
        return FALSE;
      break;

    case ENTITY_ARRAY:
      if (!need_string (text, raw, name, KEY_ELEMENT_TYPE, &entity->element_name))
        return FALSE;
      break;

    case ENTITY_OBJECT:
      if (!need_array (text, raw, name, KEY_MEMBERS) ||
          !build_members (text, raw->members, name, KEY_NAME, &entity->members, &entity->n_members))
        return FALSE;
      if ((raw->present & (1u << KEY_TAG)) != 0)
        {
          if (!need_string (text, raw, name, KEY_TAG, &entity->tag) ||
              !need_array (text, raw, name, KEY_VARIANTS) ||
              !build_members (text, raw->variants, name, KEY_CASE, &entity->variants, &entity->n_variants))
            return FALSE;
          for (guint i = 0; i < entity->n_variants; i++)
            {
              entity->variants[i].optional = FALSE;
              entity->variants[i].deprecated = FALSE;
              entity->variants[i].features = no_features;
            }
          if (_qmp_schema_entity_find_member (entity, entity->tag) == NULL)
            {
              g_autofree char *what = g_strdup_printf (_("the discriminator “%s” is not a member"), entity->tag);

              return malformed (text, name, what);
            }
        }
      break;

    case ENTITY_ALTERNATE:
      if (!need_array (text, raw, name, KEY_MEMBERS) ||
          !build_members (text, raw->members, name, N_KEYS, &entity->members, &entity->n_members))
        return FALSE;
      break;

    case ENTITY_COMMAND:
      if (!need_string (text, raw, name, KEY_ARG_TYPE, &entity->arg_name) ||
          !need_string (text, raw, name, KEY_RET_TYPE, &entity->ret_name))
        return FALSE;
      if ((raw->bad & (1u << KEY_ALLOW_OOB)) != 0)
        return need_array (text, raw, name, KEY_ALLOW_OOB);
      entity->allow_oob = raw->allow_oob;
      break;

    case ENTITY_EVENT:
      if (!need_string (text, raw, name, KEY_ARG_TYPE, &entity->arg_name))
        return FALSE;
      break;

    case ENTITY_UNKNOWN:
    default:
      break;
    }

  return _qmp_schema_add_entity (text->schema, entity, text->error);
}

typedef struct
{
  Raw raw;
  guint index;
} Entities;

static gboolean
read_entity (Text     *text,
             guint     depth,
             gpointer  user_data)
{
  Entities *entities = user_data;
  guint index = entities->index++;

  raw_clear (&entities->raw);
  if (peek (text) != '{')
    {
      if (!skip_value (text, depth))
        return FALSE;
      return not_an_entity (text, index);
    }

  return each_member (text, depth, read_raw_member, &entities->raw) &&
         build_entity (text, &entities->raw, index);
}

static gboolean
read_return (Text       *text,
             const char *key,
             gsize       key_len,
             guint       depth,
             gpointer    user_data)
{
  gboolean *found = user_data;
  Entities entities;
  gboolean ok;

  if (*found || key_len != strlen ("return") || memcmp (key, "return", key_len) != 0 ||
      peek (text) != '[')
    return skip_value (text, depth);

  *found = TRUE;
  memset (&entities, 0, sizeof entities);
  entities.raw.features = no_features;
  ok = each_element (text, depth, read_entity, &entities);
  g_clear_pointer (&entities.raw.members, g_array_unref);
  g_clear_pointer (&entities.raw.variants, g_array_unref);
  g_clear_pointer (&entities.raw.values, g_ptr_array_unref);
  return ok;
}

gboolean
_qmp_schema_parse_text (QmpSchema   *self,
                        const char  *data,
                        gsize        length,
                        GError     **error)
{
  g_autoptr(GString) scratch = g_string_new (NULL);
  Text text = { data, data + length, data, scratch, self, error };
  gboolean found = FALSE;

  if (peek (&text) == '{')
    {
      if (!each_member (&text, 0, read_return, &found))
        return FALSE;
      if (!found)
        {
          g_set_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                       _("The server’s schema is malformed: %s"), _("it is not an array"));
          return FALSE;
        }
    }
  else if (peek (&text) == '[')
    {
      if (!read_return (&text, "return", strlen ("return"), 0, &found))
        return FALSE;
    }
  else
    {
      if (!skip_value (&text, 0))
        return FALSE;
      g_set_error (error, QMP_ERROR, QMP_ERROR_PROTOCOL,
                   _("The server’s schema is malformed: %s"), _("it is not an array"));
      return FALSE;
    }

  if (peek (&text) != '\0')
    return syntax_error (&text);

  return _qmp_schema_resolve (self, error);
}
