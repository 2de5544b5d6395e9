"""NTU RGB+D 60 / 120 skeletons (Kinect v2 ``.skeleton`` text files) -> an mgclr dataset.

Source: a folder (searched recursively) of files named ``SsssCcccPpppRrrrAaaa.skeleton``: setup ``sss``,
camera ``ccc`` (1-3), performer (subject) ``ppp``, replication ``rrr``, action ``aaa`` (README of
shahroudy/NTURGB-D). Output: ``data.npy`` (N, 3, ``frames``, 25, 2) in the ``ntu25`` joint order, channels
x, y, z in metres, 30 fps; labels ``action - 1``; per-sample fields ``id`` (file stem), ``setup``,
``camera``, ``subject``, ``replication``, ``action``.

File format (shahroudy/NTURGB-D ``Matlab/read_skeleton_file.m``, lshiwjx/2s-AGCN
``data_gen/ntu_gendata.py`` ``read_skeleton_filter``), one record per line::

    frame count
    per frame:  body count
      per body: 10 values  bodyID clipedEdges handLeftConfidence handLeftState handRightConfidence
                           handRightState isResticted leanX leanY trackingState
                joint count (25)
                25 lines of 12 values  x y z depthX depthY colorX colorY orientationW orientationX
                                       orientationY orientationZ trackingState

Every value is checked (count per line, numeric, finite) even where only x, y, z are kept, so a corrupt file
raises :class:`~mgclr.data.convert.common.ConversionError` naming the file and the line instead of yielding
plausible-looking garbage.

Body selection (2s-AGCN ``read_xyz`` / ``get_nonzero_std``): a body is identified by its position in each
frame's list (slot 0-3, not by bodyID; bodies past the 4th of a frame are ignored), its activity is
``std(x) + std(y) + std(z)`` over all joints of the frames where that slot is non-zero, and the two most
active slots are kept, most active first; the second person is zero when there is none. Frames at the start
and at the end where neither kept body is present are dropped (they carry no skeleton), so a sample's
``length`` is the span from the first to the last frame with a kept body; frames past ``frames`` are cut
and counted in ``meta["provenance"]["cut_to_<frames>_frames"]``.

Benchmarks (``meta["splits"]``, parts ``train`` / ``test``), as lshiwjx/2s-AGCN ``data_gen/ntu_gendata.py``
(NTU-60) and kenziyuliu/MS-G3D ``data_gen/ntu120_gendata.py`` (NTU-120):

* NTU-60 ``xsub``: train subjects :data:`TRAIN_SUBJECTS_60`; ``xview``: train cameras 2 and 3, test camera 1.
* NTU-120 ``xsub``: train subjects :data:`TRAIN_SUBJECTS_120`; ``xset``: even setups train, odd test.

Samples with missing skeletons: by default the published lists (302 NTU-60, 535 NTU-120 names) embedded
below are skipped and counted as ``listed as missing skeletons`` (not an error); pass ``missing`` to use
another list or ``missing=()`` to keep them.

"""

from __future__ import annotations

import re
from contextlib import closing
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..axes import NTU_2S_AGCN
from ..normalise import ntu_pre_normalise as pre_normalise
from ..normalise import ntu_spec
from .common import (
    PLAUSIBLE,
    ConversionError,
    ConversionReport,
    FirstSeen,
    Option,
    Sample,
    declare_options,
    iter_lines,
    parse_floats,
    run_conversion,
    sorted_files,
)

__all__ = ["ACTIONS_60", "ACTIONS_120", "MISSING_SKELETONS_60", "MISSING_SKELETONS_120", "NORMALISATION",
           "TRAIN_SUBJECTS_60", "TRAIN_SUBJECTS_120", "convert_ntu", "parse_name", "pre_normalise",
           "read_skeleton", "select_bodies"]

NUM_JOINTS = 25
_LISTED = "listed as missing skeletons"
KINECT_BODIES = 4  # slots read per frame: 2s-AGCN's max_body_kinect
PERSONS = 2        # bodies kept: 2s-AGCN's max_body_true
FPS = 30.0

NORMALISATION = """\
Pre-normalisation as lshiwjx/2s-AGCN data_gen/preprocess.py pre_normalization (re-implemented), on the two
kept bodies (person 0 = the more active), in the Kinect camera frame (metres):
1. Frames: leading and trailing frames where neither kept body is present are dropped and `length` is the
   rest; the frames after it stay zero (2s-AGCN fills them by repeating the sequence). 2s-AGCN also moves
   a person's non-empty frames to the start when its first frame is empty, each person on its own, which
   shifts a late-entering second person in time; here both keep one timeline. Frames without a body inside
   the sequence, and joints at exactly (0, 0, 0), stay zero (missing) through every step.
2. Centring: from every present joint of both persons, subtract the spine mid (joint 1) of person 0 in the
   same frame (per-frame, as 2s-AGCN). In frames where person 0's spine mid is missing, its last earlier
   position is used (or, before its first appearance, its first position); 2s-AGCN subtracts nothing in such frames.
3. Rotation 1: rotate every point about the axis (v x z) by the angle between v and +z, where v = spine mid
   (1) - spine base (0) of person 0 in its first present frame, so the base-to-mid bone points along +z.
4. Rotation 2: likewise rotate so that u = right shoulder (8) - left shoulder (4) of person 0 in that frame
   points along +x (the left-to-right shoulder line is +x). As in 2s-AGCN, rotation 2 moves the spine off
   +z when the shoulder line is not perpendicular to it.
A vector shorter than 1e-6 or already aligned gives no rotation; an exactly opposite one gives a half turn
(2s-AGCN leaves that case unrotated)."""

__doc__ += "Pre-normalisation, stored as ``meta['normalisation']``::\n\n" + "\n".join(
    "    " + line for line in NORMALISATION.splitlines()) + "\n"

# Action names, verbatim from the README of shahroudy/NTURGB-D ("Action Classes", A1-A120), trailing periods
# removed; the README's own spellings ("hush (quite)") are kept so names match what users look up.
ACTIONS_120: Tuple[str, ...] = (
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop", "pickup", "throw",
    "sitting down", "standing up (from sitting position)", "clapping", "reading", "writing", "tear up paper",
    "wear jacket", "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses", "take off glasses",
    "put on a hat/cap", "take off a hat/cap", "cheer up", "hand waving", "kicking something",
    "put something inside pocket / take out something from pocket", "hopping (one foot jumping)", "jump up",
    "make a phone call/answer phone", "playing with phone/tablet", "typing on a keyboard",
    "pointing to something with finger", "taking a selfie", "check time (from watch)",
    "rub two hands together", "nod head/bow", "shake head", "wipe face", "salute", "put the palms together",
    "cross hands in front (say stop)", "sneeze/cough", "staggering", "falling", "touch head (headache)",
    "touch chest (stomachache/heart pain)", "touch back (backache)", "touch neck (neckache)",
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm",
    "punching/slapping other person", "kicking other person", "pushing other person",
    "pat on back of other person", "point finger at the other person", "hugging other person",
    "giving something to other person", "touch other person's pocket", "handshaking",
    "walking towards each other", "walking apart from each other",
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball", "tennis bat swing",
    "juggling table tennis balls", "hush (quite)", "flick hair", "thumb up", "thumb down", "make ok sign",
    "make victory sign", "staple book", "counting money", "cutting nails", "cutting paper (using scissors)",
    "snapping fingers", "open bottle", "sniff (smell)", "squat down", "toss a coin", "fold paper",
    "ball up paper", "play magic cube", "apply cream on face", "apply cream on hand back", "put on bag",
    "take off bag", "put something into a bag", "take something out of a bag", "open a box",
    "move heavy objects", "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms",
    "arm circles", "arm swings", "running on the spot", "butt kicks (kick backward)", "cross toe touch",
    "side kick", "yawn", "stretch oneself", "blow nose", "hit other person with something",
    "wield knife towards other person", "knock over other person (hit with body)", "grab other person\u2019s stuff",
    "shoot at other person with a gun", "step on foot", "high-five", "cheers and drink",
    "carry something with other person", "take a photo of other person", "follow other person",
    "whisper in other person\u2019s ear", "exchange things with other person",
    "support somebody with one\u2019s hand (someone is sick, help him to walk)",
    "finger-guessing game (playing rock-paper-scissors)",
)
ACTIONS_60: Tuple[str, ...] = ACTIONS_120[:60]

# Cross-subject training performers: lshiwjx/2s-AGCN data_gen/ntu_gendata.py (NTU-60) and kenziyuliu/MS-G3D
# data_gen/ntu120_gendata.py (NTU-120, which starts with the NTU-60 list); every other performer is test.
TRAIN_SUBJECTS_60 = frozenset((1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38))
TRAIN_SUBJECTS_120 = TRAIN_SUBJECTS_60 | frozenset((
    45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85, 86, 89, 91, 92, 93,
    94, 95, 97, 98, 100, 103))
TRAIN_CAMERAS_60 = frozenset((2, 3))  # 2s-AGCN training_cameras; camera 1 is the cross-view test set
LAST_SETUP_60, LAST_ACTION_60 = 17, 60  # NTU-60 is setups S001-S017, actions A001-A060 (README)

# Samples with missing or incomplete skeletons, verbatim from shahroudy/NTURGB-D
# Matlab/NTU_RGBD120_samples_with_missing_skeletons.txt (535 names, sorted). Its first 302 names (setups
# 1-17) are, name for name, Matlab/NTU_RGBD_samples_with_missing_skeletons.txt, the NTU-60 list.
MISSING_SKELETONS_120: Tuple[str, ...] = tuple("""
S001C002P005R002A008 S001C002P006R001A008 S001C003P002R001A055 S001C003P002R002A012 S001C003P005R002A004
S001C003P005R002A005 S001C003P005R002A006 S001C003P006R002A008 S002C002P011R002A030 S002C003P008R001A020
S002C003P010R002A010 S002C003P011R002A007 S002C003P011R002A011 S002C003P014R002A007 S003C001P019R001A055
S003C002P002R002A055 S003C002P018R002A055 S003C003P002R001A055 S003C003P016R001A055 S003C003P018R002A024
S004C002P003R001A013 S004C002P008R001A009 S004C002P020R001A003 S004C002P020R001A004 S004C002P020R001A012
S004C002P020R001A020 S004C002P020R001A021 S004C002P020R001A036 S005C002P004R001A001 S005C002P004R001A003
S005C002P010R001A016 S005C002P010R001A017 S005C002P010R001A048 S005C002P010R001A049 S005C002P016R001A009
S005C002P016R001A010 S005C002P018R001A003 S005C002P018R001A028 S005C002P018R001A029 S005C003P016R002A009
S005C003P018R002A013 S005C003P021R002A057 S006C001P001R002A055 S006C002P007R001A005 S006C002P007R001A006
S006C002P016R001A043 S006C002P016R001A051 S006C002P016R001A052 S006C002P022R001A012 S006C002P023R001A020
S006C002P023R001A021 S006C002P023R001A022 S006C002P023R001A023 S006C002P024R001A018 S006C002P024R001A019
S006C003P001R002A013 S006C003P007R002A009 S006C003P007R002A010 S006C003P007R002A025 S006C003P016R001A060
S006C003P017R001A055 S006C003P017R002A013 S006C003P017R002A014 S006C003P017R002A015 S006C003P022R002A013
S007C001P018R002A050 S007C001P025R002A051 S007C001P028R001A050 S007C001P028R001A051 S007C001P028R001A052
S007C002P008R002A008 S007C002P015R002A055 S007C002P026R001A008 S007C002P026R001A009 S007C002P026R001A010
S007C002P026R001A011 S007C002P026R001A012 S007C002P026R001A050 S007C002P027R001A011 S007C002P027R001A013
S007C002P028R002A055 S007C003P007R001A002 S007C003P007R001A004 S007C003P019R001A060 S007C003P027R002A001
S007C003P027R002A002 S007C003P027R002A003 S007C003P027R002A004 S007C003P027R002A005 S007C003P027R002A006
S007C003P027R002A007 S007C003P027R002A008 S007C003P027R002A009 S007C003P027R002A010 S007C003P027R002A011
S007C003P027R002A012 S007C003P027R002A013 S008C002P001R001A009 S008C002P001R001A010 S008C002P001R001A014
S008C002P001R001A015 S008C002P001R001A016 S008C002P001R001A018 S008C002P001R001A019 S008C002P008R002A059
S008C002P025R001A060 S008C002P029R001A004 S008C002P031R001A005 S008C002P031R001A006 S008C002P032R001A018
S008C002P034R001A018 S008C002P034R001A019 S008C002P035R001A059 S008C002P035R002A002 S008C002P035R002A005
S008C003P007R001A009 S008C003P007R001A016 S008C003P007R001A017 S008C003P007R001A018 S008C003P007R001A019
S008C003P007R001A020 S008C003P007R001A021 S008C003P007R001A022 S008C003P007R001A023 S008C003P007R001A025
S008C003P007R001A026 S008C003P007R001A028 S008C003P007R001A029 S008C003P007R002A003 S008C003P008R002A050
S008C003P025R002A002 S008C003P025R002A011 S008C003P025R002A012 S008C003P025R002A016 S008C003P025R002A020
S008C003P025R002A022 S008C003P025R002A023 S008C003P025R002A030 S008C003P025R002A031 S008C003P025R002A032
S008C003P025R002A033 S008C003P025R002A049 S008C003P025R002A060 S008C003P031R001A001 S008C003P031R002A004
S008C003P031R002A014 S008C003P031R002A015 S008C003P031R002A016 S008C003P031R002A017 S008C003P032R002A013
S008C003P033R002A001 S008C003P033R002A011 S008C003P033R002A012 S008C003P034R002A001 S008C003P034R002A012
S008C003P034R002A022 S008C003P034R002A023 S008C003P034R002A024 S008C003P034R002A044 S008C003P034R002A045
S008C003P035R002A016 S008C003P035R002A017 S008C003P035R002A018 S008C003P035R002A019 S008C003P035R002A020
S008C003P035R002A021 S009C002P007R001A001 S009C002P007R001A003 S009C002P007R001A014 S009C002P008R001A014
S009C002P015R002A050 S009C002P016R001A002 S009C002P017R001A028 S009C002P017R001A029 S009C003P017R002A030
S009C003P025R002A054 S010C001P007R002A020 S010C002P016R002A055 S010C002P017R001A005 S010C002P017R001A018
S010C002P017R001A019 S010C002P019R001A001 S010C002P025R001A012 S010C003P007R002A043 S010C003P008R002A003
S010C003P016R001A055 S010C003P017R002A055 S011C001P002R001A008 S011C001P018R002A050 S011C002P008R002A059
S011C002P016R002A055 S011C002P017R001A020 S011C002P017R001A021 S011C002P018R002A055 S011C002P027R001A009
S011C002P027R001A010 S011C002P027R001A037 S011C003P001R001A055 S011C003P002R001A055 S011C003P008R002A012
S011C003P015R001A055 S011C003P016R001A055 S011C003P019R001A055 S011C003P025R001A055 S011C003P028R002A055
S012C001P019R001A060 S012C001P019R002A060 S012C002P015R001A055 S012C002P017R002A012 S012C002P025R001A060
S012C003P008R001A057 S012C003P015R001A055 S012C003P015R002A055 S012C003P016R001A055 S012C003P017R002A055
S012C003P018R001A055 S012C003P018R001A057 S012C003P019R002A011 S012C003P019R002A012 S012C003P025R001A055
S012C003P027R001A055 S012C003P027R002A009 S012C003P028R001A035 S012C003P028R002A055 S013C001P015R001A054
S013C001P017R002A054 S013C001P018R001A016 S013C001P028R001A040 S013C002P015R001A054 S013C002P017R002A054
S013C002P028R001A040 S013C003P008R002A059 S013C003P015R001A054 S013C003P017R002A054 S013C003P025R002A022
S013C003P027R001A055 S013C003P028R001A040 S014C001P027R002A040 S014C002P015R001A003 S014C002P019R001A029
S014C002P025R002A059 S014C002P027R002A040 S014C002P039R001A050 S014C003P007R002A059 S014C003P015R002A055
S014C003P019R002A055 S014C003P025R001A048 S014C003P027R002A040 S015C001P008R002A040 S015C001P016R001A055
S015C001P017R001A055 S015C001P017R002A055 S015C002P007R001A059 S015C002P008R001A003 S015C002P008R001A004
S015C002P008R002A040 S015C002P015R001A002 S015C002P016R001A001 S015C002P016R002A055 S015C003P008R002A007
S015C003P008R002A011 S015C003P008R002A012 S015C003P008R002A028 S015C003P008R002A040 S015C003P025R002A012
S015C003P025R002A017 S015C003P025R002A020 S015C003P025R002A021 S015C003P025R002A030 S015C003P025R002A033
S015C003P025R002A034 S015C003P025R002A036 S015C003P025R002A037 S015C003P025R002A044 S016C001P019R002A040
S016C001P025R001A011 S016C001P025R001A012 S016C001P025R001A060 S016C001P040R001A055 S016C001P040R002A055
S016C002P008R001A011 S016C002P019R002A040 S016C002P025R002A012 S016C003P008R001A011 S016C003P008R002A002
S016C003P008R002A003 S016C003P008R002A004 S016C003P008R002A006 S016C003P008R002A009 S016C003P019R002A040
S016C003P039R002A016 S017C001P016R002A031 S017C002P007R001A013 S017C002P008R001A009 S017C002P015R001A042
S017C002P016R002A031 S017C002P016R002A055 S017C003P007R002A013 S017C003P008R001A059 S017C003P016R002A031
S017C003P017R001A055 S017C003P020R001A059 S019C001P046R001A075 S019C002P042R001A094 S019C002P042R001A095
S019C002P042R001A096 S019C002P042R001A097 S019C002P042R001A098 S019C002P042R001A099 S019C002P042R001A100
S019C002P042R001A101 S019C002P042R001A102 S019C002P049R002A074 S019C002P049R002A079 S019C002P051R001A061
S019C003P046R001A061 S019C003P046R002A061 S019C003P046R002A062 S020C002P041R001A063 S020C002P041R001A064
S020C002P044R001A063 S020C002P044R001A064 S020C002P044R001A066 S020C002P044R001A084 S020C002P054R001A081
S021C001P059R001A108 S021C002P055R001A065 S021C002P055R001A092 S021C002P055R001A093 S021C002P057R001A064
S021C002P058R001A063 S021C002P058R001A064 S021C002P059R001A074 S021C002P059R001A075 S021C002P059R001A076
S021C002P059R001A077 S021C002P059R001A078 S021C002P059R001A079 S021C003P057R002A078 S021C003P057R002A079
S021C003P057R002A094 S022C002P061R001A113 S022C003P061R002A061 S022C003P061R002A062 S022C003P063R002A061
S022C003P063R002A062 S022C003P063R002A063 S022C003P063R002A064 S022C003P063R002A078 S022C003P064R002A061
S022C003P064R002A062 S022C003P065R002A061 S022C003P065R002A062 S022C003P065R002A119 S022C003P067R002A064
S023C002P055R001A114 S023C002P055R002A092 S023C002P059R001A075 S023C002P063R001A075 S023C003P055R002A093
S023C003P055R002A094 S023C003P061R002A061 S023C003P064R001A092 S024C001P063R001A109 S024C002P062R002A074
S024C002P067R001A100 S024C002P067R001A101 S024C002P067R001A102 S024C002P067R001A103 S024C003P062R002A074
S024C003P063R002A061 S024C003P063R002A062 S025C001P055R002A119 S025C003P056R002A119 S025C003P059R002A115
S026C002P044R001A061 S026C002P044R001A062 S026C002P070R001A092 S026C003P069R002A075 S026C003P074R002A061
S026C003P074R002A062 S026C003P075R001A117 S026C003P075R001A118 S027C001P082R001A063 S027C002P044R002A092
S027C002P079R001A061 S027C002P079R001A062 S027C002P079R001A063 S027C002P079R001A064 S027C002P082R001A092
S027C002P084R001A061 S027C002P084R001A062 S027C002P086R001A061 S027C003P041R002A087 S027C003P080R002A061
S027C003P082R002A061 S027C003P082R002A062 S027C003P086R002A061 S027C003P086R002A062 S028C001P087R001A061
S028C002P041R001A091 S028C002P087R001A061 S028C003P042R002A064 S028C003P046R002A063 S028C003P046R002A066
S028C003P046R002A067 S028C003P046R002A068 S028C003P046R002A069 S028C003P046R002A070 S028C003P046R002A071
S028C003P046R002A072 S028C003P046R002A074 S028C003P046R002A075 S028C003P046R002A077 S028C003P046R002A081
S028C003P046R002A082 S028C003P046R002A083 S028C003P046R002A084 S028C003P048R002A061 S028C003P048R002A062
S028C003P048R002A073 S028C003P073R002A073 S028C003P087R001A061 S028C003P087R002A061 S028C003P087R002A062
S029C001P043R002A092 S029C001P044R002A092 S029C001P048R001A073 S029C001P089R001A063 S029C002P041R001A074
S029C002P041R001A084 S029C002P044R001A091 S029C002P048R001A075 S029C002P048R001A081 S029C002P074R001A081
S029C002P074R001A095 S029C002P074R001A096 S029C002P080R001A091 S029C002P088R001A066 S029C002P089R001A065
S029C002P090R001A067 S029C003P008R002A065 S029C003P008R002A067 S029C003P041R001A089 S029C003P043R001A080
S029C003P043R001A092 S029C003P043R001A105 S029C003P043R002A085 S029C003P043R002A086 S029C003P044R002A106
S029C003P048R001A065 S029C003P048R002A073 S029C003P048R002A074 S029C003P048R002A075 S029C003P048R002A076
S029C003P048R002A092 S029C003P048R002A094 S029C003P051R002A073 S029C003P051R002A074 S029C003P051R002A075
S029C003P051R002A076 S029C003P051R002A077 S029C003P051R002A078 S029C003P051R002A079 S029C003P051R002A080
S029C003P051R002A081 S029C003P051R002A082 S029C003P051R002A083 S029C003P051R002A084 S029C003P051R002A085
S029C003P051R002A086 S029C003P051R002A110 S029C003P067R001A098 S029C003P074R002A110 S029C003P080R002A066
S029C003P088R002A078 S029C003P089R001A075 S029C003P089R002A061 S029C003P089R002A062 S029C003P089R002A063
S029C003P090R002A092 S029C003P090R002A095 S030C002P091R002A091 S030C002P091R002A092 S030C002P091R002A093
S030C002P091R002A094 S030C002P091R002A095 S030C002P091R002A096 S030C002P091R002A097 S030C002P091R002A098
S030C002P091R002A099 S030C002P091R002A100 S030C002P091R002A101 S030C002P091R002A102 S030C002P091R002A103
S030C002P091R002A104 S030C002P091R002A105 S030C003P044R002A065 S030C003P044R002A081 S030C003P044R002A084
S031C002P042R001A111 S031C002P051R001A061 S031C002P051R001A062 S031C002P067R001A067 S031C002P067R001A068
S031C002P067R001A069 S031C002P067R001A070 S031C002P067R001A071 S031C002P067R001A072 S031C002P082R001A075
S031C002P082R002A117 S031C002P097R001A061 S031C002P097R001A062 S031C003P043R002A074 S031C003P043R002A075
S031C003P044R002A094 S031C003P082R002A067 S031C003P082R002A068 S031C003P082R002A069 S031C003P082R002A070
S031C003P082R002A071 S031C003P082R002A072 S031C003P082R002A073 S031C003P082R002A075 S031C003P082R002A076
S031C003P082R002A077 S031C003P082R002A084 S031C003P082R002A085 S031C003P082R002A086 S032C002P067R001A092
S032C003P067R002A066 S032C003P067R002A067 S032C003P067R002A075 S032C003P067R002A076 S032C003P067R002A077
""".split())
MISSING_SKELETONS_60: Tuple[str, ...] = tuple(n for n in MISSING_SKELETONS_120 if int(n[1:4]) <= LAST_SETUP_60)

_NAME = re.compile(r"S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


# ------------------------------------------------------------------------------------------------ parsing


def parse_name(path: Union[str, Path]) -> Dict[str, Any]:
    """``{"id", "setup", "camera", "subject", "replication", "action"}`` from ``S001C002P003R002A013.skeleton``
    (ids are ints, action 1-based); a name that is not one raises :class:`ConversionError`."""
    path = Path(path)
    stem = path.name[:-len(".skeleton")] if path.name.endswith(".skeleton") else path.stem
    match = _NAME.fullmatch(stem)
    if match is None:
        raise ConversionError(path, "file name", f"{path.name!r} is not named SsssCcccPpppRrrrAaaa.skeleton",
                              "bad file name")
    setup, camera, subject, replication, action = (int(g) for g in match.groups())
    if min(setup, subject, replication) < 1 or not 1 <= camera <= 3 or not 1 <= action <= len(ACTIONS_120):
        raise ConversionError(path, "file name", f"{path.name!r}: setup/performer/replication must be >= 1, "
                              f"camera 1-3 and action 1-{len(ACTIONS_120)}", "bad file name")
    return {"id": stem, "setup": setup, "camera": camera, "subject": subject, "replication": replication,
            "action": action}


def read_skeleton(path: Union[str, Path]) -> Tuple[np.ndarray, int]:
    """Read one ``.skeleton`` file.

    Returns ``(xyz, most_bodies)``: ``xyz`` (T, 4, 25, 3) float64, joint positions by body slot (the body's
    position in its frame's list; an absent body is all zero) for the T frames the file announces, and the
    largest body count of any frame (bodies past the 4th are checked but not kept). Raises
    :class:`ConversionError` (file, ``line N``) when the file is empty, truncated, has a line with the wrong
    number of values, a non-numeric or non-finite value, a joint count other than 25, data after the last
    frame, no frame, or no body in any frame.
    """
    path = Path(path)
    with closing(iter_lines(path)) as lines:
        last = 0  # number of the last line read, so errors can name the line that is missing or wrong

        def take(what: str) -> List[str]:
            nonlocal last
            for number, text in lines:
                last = number
                return text.split()
            if last == 0:
                raise ConversionError(path, "line 1", "the file is empty", "empty")
            raise ConversionError(path, f"line {last + 1}", f"the file ends after line {last}; expected {what}",
                                  "truncated")

        def row(what: str, expected: int) -> List[str]:
            tokens = take(what)
            if len(tokens) < expected and next(lines, None) is None:  # a short last line: the file was cut there
                raise ConversionError(path, f"line {last}", f"the file ends at line {last} (truncated?), in {what}: "
                                      f"expected {expected} values, got {len(tokens)}", "truncated")
            return tokens

        def values(what: str, expected: int, limit: Optional[float] = None) -> List[float]:
            return parse_floats(row(what, expected), path, f"line {last}", expected=expected, limit=limit)

        def count(what: str) -> int:
            tokens = row(what, 1)
            value = parse_floats(tokens, path, f"line {last}", expected=1, limit=PLAUSIBLE)[0]
            if value < 0 or value != int(value):
                raise ConversionError(path, f"line {last}", f"{what}: expected a count, got {tokens[0]!r}",
                                      "invalid count")
            return int(value)

        num_frames = count("the frame count")
        if num_frames == 0:
            raise ConversionError(path, "line 1", "the frame count is 0", "empty")
        frames: List[np.ndarray] = []  # grown per frame: a corrupt huge frame count cannot allocate up front
        most = 0
        for t in range(num_frames):
            frame = np.zeros((KINECT_BODIES, NUM_JOINTS, 3))
            bodies = count(f"the body count of frame {t + 1}")
            most = max(most, bodies)
            for b in range(bodies):
                where = f"body {b + 1} of frame {t + 1}"
                values(f"the 10 values of {where}", 10)
                joints = count(f"the joint count of {where}")
                if joints != NUM_JOINTS:
                    raise ConversionError(path, f"line {last}", f"{where} has {joints} joints, expected "
                                          f"{NUM_JOINTS} (Kinect v2)", "wrong joint count")
                for j in range(NUM_JOINTS):
                    joint = values(f"joint {j + 1} of {where}", 12, PLAUSIBLE)
                    if b < KINECT_BODIES:
                        frame[b, j] = joint[:3]
            frames.append(frame)
        for number, _ in lines:
            raise ConversionError(path, f"line {number}", f"data after the {num_frames} frame(s) the first line "
                                  "announces", "trailing data")
    if most == 0:
        raise ConversionError(path, "line 1", f"none of the {num_frames} frame(s) has a body", "empty")
    return np.stack(frames), most


# ---------------------------------------------------------------------------------- selection, normalising


def select_bodies(xyz: np.ndarray, persons: int = PERSONS) -> np.ndarray:
    """The ``persons`` most active body slots of ``xyz`` (T, B, V, 3), most active first -> (T, persons, V, 3).

    Activity is 2s-AGCN's ``get_nonzero_std``: over the frames where the slot is non-zero, the standard
    deviation of x plus that of y plus that of z, each taken over all those frames' joints. Ties keep slot
    order (2s-AGCN's reversed argsort puts the later slot first; exact ties do not occur in recorded data).
    """
    T, B = xyz.shape[:2]
    energy = np.zeros(B)
    for b in range(B):
        body = xyz[:, b]
        valid = np.any(body != 0, axis=(1, 2))
        if valid.any():
            energy[b] = sum(float(body[valid][..., c].std()) for c in range(3))
    order = np.argsort(-energy, kind="stable")[:persons]
    out = np.zeros((T, persons) + xyz.shape[2:], dtype=xyz.dtype)
    out[:, :len(order)] = xyz[:, order]
    return out


# ------------------------------------------------------------------------------------------------- convert


def _load_missing(missing: Union[None, str, Path, Iterable[str]], version: str) -> Tuple[frozenset, str]:
    if missing is None:
        names = MISSING_SKELETONS_120 if version == "120" else MISSING_SKELETONS_60
        return frozenset(names), (f"built-in list of shahroudy/NTURGB-D ({len(names)} names, NTU RGB+D "
                                  f"{version})")
    if isinstance(missing, (str, Path)):
        path = Path(missing)
        if not path.is_file():
            raise FileNotFoundError(f"missing: {path} is not a file (a list of sample names, one per line)")
        names = []
        for _, text in iter_lines(path):
            token = text.split()[0]
            token = token[:-len(".skeleton")] if token.endswith(".skeleton") else token
            if _NAME.fullmatch(token):  # the official files start with two lines of prose
                names.append(token)
        if not names:
            raise ValueError(f"missing: {path} lists no sample name (SsssCcccPpppRrrrAaaa, one per line)")
        return frozenset(names), str(path.resolve())
    names = [str(n)[:-len(".skeleton")] if str(n).endswith(".skeleton") else str(n) for n in missing]
    return frozenset(names), f"{len(names)} names given by the caller"


@declare_options(
    Option("version", "60, 120 or auto", choices=("60", "120", "auto")),
    Option("frames", "T of data.npy", type=int, default_text="300"),
    Option("missing", "file of sample names to skip", default_text="published list"),
    Option("missing", "keep the samples with missing skeletons", flag="--keep-missing", switch=True, const=()),
)
def convert_ntu(src: Union[str, Path], dst: Union[str, Path], *, skip_bad: bool = False, overwrite: bool = False,
                progress: bool = True, splits: Optional[Sequence[str]] = None, version: str = "auto", frames: int = 300,
                missing: Union[None, str, Path, Iterable[str]] = None) -> ConversionReport:
    """Convert a folder of NTU RGB+D ``.skeleton`` files into an mgclr dataset at ``dst``.

    Args:
        src: folder searched recursively for ``*.skeleton`` (both NTU-120 parts may sit under it).
        dst: the dataset folder to write.
        skip_bad: skip (and count) corrupt files instead of stopping at the first.
        overwrite: replace a dataset already at ``dst``.
        progress: show a progress bar.
        splits: the benchmarks to record in meta.json (default: all).
        version: ``"60"``, ``"120"`` or ``"auto"`` (120 when a file has setup > 17 or action > 60). Sets the
            class names (60 or 120), the benchmarks (``xsub`` + ``xview``, or ``xsub`` + ``xset``) and the
            default missing-skeleton list. With ``"60"``, an NTU-120-only file is an error.
        frames: T of ``data.npy``; longer sequences are cut (counted in provenance).
        missing: samples to skip as "listed as missing skeletons": None for the published list of
            ``version``, a text file of names (``NTU_RGBD_samples_with_missing_skeletons.txt``; lines that
            are not names are ignored), or an iterable of names (``()`` keeps every file).

    Returns the :class:`ConversionReport`; ``data.npy`` is (N, 3, frames, 25, 2).
    """
    src = Path(src)
    if not src.is_dir():
        raise FileNotFoundError(f"src: {src} is not a folder (expected the NTU RGB+D .skeleton files)")
    version = str(version)
    if version not in ("60", "120", "auto"):
        raise ValueError(f"version: expected '60', '120' or 'auto', got {version!r}")
    if isinstance(frames, bool) or not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames: expected a positive int, got {frames!r}")
    frames = int(frames)
    unreadable: List[Tuple[str, str]] = []
    files = sorted_files(src, "*.skeleton", unreadable if skip_bad else None)
    if not files:
        raise FileNotFoundError(f"src: no .skeleton file under {src}")
    if version == "auto":
        ids = []
        for f in files:
            try:
                ids.append(parse_name(f))
            except ConversionError:
                continue  # reported when that file is parsed
        beyond_60 = any(i["setup"] > LAST_SETUP_60 or i["action"] > LAST_ACTION_60 for i in ids)
        version = "120" if beyond_60 else "60"
    missing_names, missing_source = _load_missing(missing, version)
    sources = [f for f in files if f.name[:-len(".skeleton")] not in missing_names]
    listed = [f for f in files if f.name[:-len(".skeleton")] in missing_names]

    class_names = ACTIONS_120 if version == "120" else ACTIONS_60
    cut_key = f"cut_to_{frames}_frames"
    # run_conversion copies provenance into meta.json only when it finishes, so these counts are final there.
    provenance: Dict[str, Any] = {
        "source": str(src), "files": len(files), "ntu_version": version, "missing_list": missing_source,
        cut_key: 0, "frames_cut": 0, "edge_frames_without_body": 0,
        "samples_with_more_than_4_bodies": 0,
        "benchmarks": ("xsub: train subjects " + ",".join(map(str, sorted(TRAIN_SUBJECTS_120 if version == "120"
                                                                         else TRAIN_SUBJECTS_60)))
                       + ("; xset: even setups train, odd test" if version == "120"
                          else "; xview: cameras 2,3 train, camera 1 test")),
    }
    seen = FirstSeen()

    def parse(path: Path) -> List[Sample]:
        fields = parse_name(path)
        if version == "60" and (fields["setup"] > LAST_SETUP_60 or fields["action"] > LAST_ACTION_60):
            raise ConversionError(path, "file name", f"setup {fields['setup']} / action {fields['action']} is not "
                                  "in NTU RGB+D 60 (S001-S017, A001-A060); use version='120'",
                                  "not in NTU RGB+D 60")
        seen.check(fields["id"], path)
        xyz, most = read_skeleton(path)
        kept = select_bodies(xyz)
        with_body = np.flatnonzero(np.any(kept != 0, axis=(1, 2, 3)))
        if len(with_body) == 0:
            raise ConversionError(path, "line 1", "every joint of every body is at (0, 0, 0)", "empty")
        first, last = int(with_body[0]), int(with_body[-1])
        kept = kept[first:last + 1]
        if len(kept) > frames:
            provenance[cut_key] += 1
            provenance["frames_cut"] += len(kept) - frames
            kept = kept[:frames]
        # Counted only once the file has parsed, so a file skipped as corrupt leaves no trace here.
        provenance["edge_frames_without_body"] += len(xyz) - (last + 1 - first)
        provenance["samples_with_more_than_4_bodies"] += int(most > KINECT_BODIES)
        seen.add(fields["id"], path)
        x = pre_normalise(kept).transpose(3, 0, 2, 1).astype(np.float32)  # (T, M, V, C) -> (C, T, V, M)
        return [Sample(x, fields["action"] - 1, fields)]

    def split_of(sample: Sample) -> Dict[str, str]:
        f = sample.fields
        if version == "120":
            return {"xsub": "train" if f["subject"] in TRAIN_SUBJECTS_120 else "test",
                    "xset": "train" if f["setup"] % 2 == 0 else "test"}
        return {"xsub": "train" if f["subject"] in TRAIN_SUBJECTS_60 else "test",
                "xview": "train" if f["camera"] in TRAIN_CAMERAS_60 else "test"}

    report = run_conversion(
        "ntu", dst, sources, parse,
        writer_args=dict(channels=3, frames=frames, joints=NUM_JOINTS, persons=PERSONS, layout="ntu25",
                         class_names=list(class_names), coord_channels=3, channel_names=["x", "y", "z"], fps=FPS,
                         normalise=ntu_spec(), axes=NTU_2S_AGCN),
        split_of=split_of, provenance=provenance, normalisation=NORMALISATION, skip_bad=skip_bad,
        overwrite=overwrite, progress=progress, splits=splits,
        skipped_before=unreadable + [(_LISTED, f"{p}: {_LISTED} ({missing_source})") for p in listed])
    report.sources += len(listed)
    return report
