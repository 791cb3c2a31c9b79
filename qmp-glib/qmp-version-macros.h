/* qmp-version-macros.h
 *
 * Copyright 2026 The qmp-glib authors
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(QMP_INSIDE) && !defined(QMP_COMPILATION)
# error "Only <qmp-glib.h> can be included directly."
#endif

#include <glib.h>

#include "qmp-version.h"

#ifndef _QMP_EXTERN
# define _QMP_EXTERN extern
#endif

#ifdef QMP_DISABLE_DEPRECATION_WARNINGS
# define QMP_DEPRECATED _QMP_EXTERN
# define QMP_DEPRECATED_FOR(f) _QMP_EXTERN
# define QMP_UNAVAILABLE(maj,min) _QMP_EXTERN
#else
# define QMP_DEPRECATED G_DEPRECATED _QMP_EXTERN
# define QMP_DEPRECATED_FOR(f) G_DEPRECATED_FOR(f) _QMP_EXTERN
# define QMP_UNAVAILABLE(maj,min) G_UNAVAILABLE(maj,min) _QMP_EXTERN
#endif

/**
 * QMP_VERSION_1_0:
 *
 * A macro for use with %QMP_VERSION_MIN_REQUIRED and
 * %QMP_VERSION_MAX_ALLOWED: the API of qmp-glib 1.0.
 *
 * Since: 1.0
 */
#define QMP_VERSION_1_0 (G_ENCODE_VERSION (1, 0))

/* Every minor version is a stable API; its pre-releases (X.Y.alpha,
 * X.Y.beta, X.Y.rc) already have the API of X.Y (see meson.build). */
#define QMP_VERSION_CUR_STABLE (G_ENCODE_VERSION (QMP_MAJOR_VERSION, QMP_MINOR_VERSION))

#if (QMP_MINOR_VERSION == 0)
# define QMP_VERSION_PREV_STABLE (QMP_VERSION_CUR_STABLE)
#else
# define QMP_VERSION_PREV_STABLE (G_ENCODE_VERSION (QMP_MAJOR_VERSION, QMP_MINOR_VERSION - 1))
#endif

/**
 * QMP_VERSION_MIN_REQUIRED:
 *
 * A macro that should be defined by the user prior to including
 * the qmp-glib.h header.
 *
 * The definition should be one of the predefined qmp-glib version
 * macros: %QMP_VERSION_1_0, ...
 *
 * This macro defines the lower bound for the qmp-glib API to use.
 *
 * If a function has been deprecated in a newer version of qmp-glib,
 * it is possible to use this symbol to avoid the compiler warnings
 * without disabling warning for every deprecated function.
 *
 * Since: 1.0
 */
#ifndef QMP_VERSION_MIN_REQUIRED
# define QMP_VERSION_MIN_REQUIRED (QMP_VERSION_CUR_STABLE)
#endif

/**
 * QMP_VERSION_MAX_ALLOWED:
 *
 * A macro that should be defined by the user prior to including
 * the qmp-glib.h header.
 *
 * The definition should be one of the predefined qmp-glib version
 * macros: %QMP_VERSION_1_0, ...
 *
 * This macro defines the upper bound for the qmp-glib API to use.
 *
 * If a function has been introduced in a newer version of qmp-glib,
 * it is possible to use this symbol to get compiler warnings when
 * trying to use that function.
 *
 * Since: 1.0
 */
#ifndef QMP_VERSION_MAX_ALLOWED
# if QMP_VERSION_MIN_REQUIRED > QMP_VERSION_PREV_STABLE
#  define QMP_VERSION_MAX_ALLOWED (QMP_VERSION_MIN_REQUIRED)
# else
#  define QMP_VERSION_MAX_ALLOWED (QMP_VERSION_CUR_STABLE)
# endif
#endif

#define QMP_AVAILABLE_IN_ALL _QMP_EXTERN

#if QMP_VERSION_MIN_REQUIRED >= QMP_VERSION_1_0
# define QMP_DEPRECATED_IN_1_0 QMP_DEPRECATED
# define QMP_DEPRECATED_IN_1_0_FOR(f) QMP_DEPRECATED_FOR(f)
#else
# define QMP_DEPRECATED_IN_1_0 _QMP_EXTERN
# define QMP_DEPRECATED_IN_1_0_FOR(f) _QMP_EXTERN
#endif

#if QMP_VERSION_MAX_ALLOWED < QMP_VERSION_1_0
# define QMP_AVAILABLE_IN_1_0 QMP_UNAVAILABLE(1, 0)
#else
# define QMP_AVAILABLE_IN_1_0 _QMP_EXTERN
#endif
